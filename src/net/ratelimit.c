
#include "net/ratelimit.h"
#include "util/time.h"

void
ratelimit_init(struct token_bucket *b, uint32_t rate, uint32_t min_burst, uint64_t now_ns)
{
	b->rate = rate;
	b->burst = rate > min_burst ? rate : min_burst;
	b->tokens = b->burst;
	b->last_ns = now_ns;
}

static void
ratelimit_refill(struct token_bucket *b, uint64_t now_ns)
{
	if (now_ns > b->last_ns) {
		b->tokens += b->rate * (double)(now_ns - b->last_ns) / 1e9;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
		b->last_ns = now_ns;
	}
}

bool
ratelimit_take(struct token_bucket *b, double n, uint64_t now_ns)
{
	if (b->rate <= 0)
		return true;
	ratelimit_refill(b, now_ns);
	if (b->tokens < n)
		return false;
	b->tokens -= n;
	return true;
}

bool
ratelimit_ready(struct token_bucket *b, uint64_t now_ns)
{
	if (b->rate <= 0)
		return true;
	ratelimit_refill(b, now_ns);
	return b->tokens > 0;
}

void
ratelimit_charge(struct token_bucket *b, double n, uint64_t now_ns)
{
	if (b->rate <= 0)
		return;
	ratelimit_refill(b, now_ns);
	b->tokens -= n;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
}

uint64_t
ratelimit_now_ns(void)
{
	return time_mono_ns();
}
