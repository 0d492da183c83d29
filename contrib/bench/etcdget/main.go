// etcdget: the read side of the rcfs-vs-etcd benchmark (contrib/bench/vs-etcd.sh).
// It mirrors `rcfs-load get`: write --keys values of --val-size bytes (untimed),
// then --clients goroutines each run one linearizable Get at a time (etcd's
// default consistency, a ReadIndex on the leader, like rcfs's FileStat), reading
// the keys round-robin, for at most --total Gets or --max-seconds.  Prints one
// JSON line with the same fields as etcdload and rcfs-load.
//
// Build (GOPATH mode, offline, Debian golang-go + golang-etcd-server-dev):
//   GO111MODULE=off GOPATH=/usr/share/gocode go build -o DIR/etcdget ./contrib/bench/etcdget
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
)

// percentile: smallest recorded value with at least p % of values at or below it
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100.0 + 0.999999)
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return float64(sorted[rank-1].Microseconds()) / 1000.0
}

func main() {
	eps := flag.String("endpoints", "http://127.0.0.1:2379", "comma-separated client URLs")
	clients := flag.Int("clients", 1, "concurrent clients, one outstanding Get each")
	conns := flag.Int("conns", 0, "clientv3 clients shared by the goroutines (0 = min(clients,16))")
	total := flag.Int("total", 10000, "max Gets to time")
	maxSec := flag.Float64("max-seconds", 10, "max seconds to time")
	valSize := flag.Int("val-size", 256, "value size in bytes")
	keys := flag.Int("keys", 1000, "distinct keys written first and read round-robin")
	warm := flag.Int("warmup", 100, "untimed Gets before timing")
	prefix := flag.String("prefix", "get/", "key prefix")
	label := flag.String("label", "", "label echoed in the JSON output")
	flag.Parse()

	if *conns <= 0 {
		*conns = *clients
		if *conns > 16 {
			*conns = 16
		}
	}
	cl := make([]*clientv3.Client, *conns)
	for i := range cl {
		c, err := clientv3.New(clientv3.Config{
			Endpoints:          strings.Split(*eps, ","),
			DialTimeout:        5 * time.Second,
			MaxCallSendMsgSize: 4 << 20,
			MaxCallRecvMsgSize: 4 << 20,
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "etcdget: dial:", err)
			os.Exit(2)
		}
		defer c.Close()
		cl[i] = c
	}
	val := make([]byte, *valSize)
	for i := range val {
		val[i] = byte('a' + i%26)
	}
	key := func(n int) string { return *prefix + strconv.Itoa(n%*keys) }

	// Populate with up to `clients` Puts in flight (untimed).
	var wg sync.WaitGroup
	var next int64 = -1
	var failed int64
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for {
				n := int(atomic.AddInt64(&next, 1))
				if n >= *keys {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				_, err := cl[c%len(cl)].Put(ctx, key(n), string(val))
				cancel()
				if err != nil {
					atomic.AddInt64(&failed, 1)
				}
			}
		}(c)
	}
	wg.Wait()
	if failed > 0 {
		fmt.Fprintln(os.Stderr, "etcdget: populating failed:", failed, "errors")
		os.Exit(3)
	}

	run := func(n int, timed bool) ([]time.Duration, int64, float64) {
		var next int64 = -1
		var errs int64
		lats := make([][]time.Duration, *clients)
		deadline := time.Now().Add(time.Duration(*maxSec * float64(time.Second)))
		start := time.Now()
		var wg sync.WaitGroup
		for c := 0; c < *clients; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				kv := cl[c%len(cl)]
				for {
					i := int(atomic.AddInt64(&next, 1))
					if i >= n || (timed && time.Now().After(deadline)) {
						return
					}
					t0 := time.Now()
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					r, err := kv.Get(ctx, key(i))
					cancel()
					if err != nil || len(r.Kvs) != 1 || len(r.Kvs[0].Value) != *valSize {
						atomic.AddInt64(&errs, 1)
						continue
					}
					lats[c] = append(lats[c], time.Since(t0))
				}
			}(c)
		}
		wg.Wait()
		var all []time.Duration
		for _, l := range lats {
			all = append(all, l...)
		}
		return all, errs, time.Since(start).Seconds()
	}
	run(*warm, false)
	all, errs, el := run(*total, true)
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	ops := float64(len(all))
	out := map[string]interface{}{
		"label": *label, "tool": "etcdget", "op": "get", "clients": *clients, "conns": *conns,
		"endpoints": *eps, "size": *valSize, "keys": *keys, "ops": len(all), "errors": errs,
		"seconds": el, "ops_per_s": ops / el, "MB_per_s": ops * float64(*valSize) / el / 1e6,
		"p50_ms": percentile(all, 50), "p90_ms": percentile(all, 90), "p99_ms": percentile(all, 99),
		"max_ms": percentile(all, 100),
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
	if len(all) == 0 {
		os.Exit(1)
	}
}
