# owned by the http module (src/http/, src/util/metrics.*)
