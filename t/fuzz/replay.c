/* Corpus replay (TAP): feeds every file of t/fuzz/corpus/FUZZ_NAME/ to the
 * target's LLVMFuzzerTestOneInput, so `make check` (gcc, sanitizers) runs
 * every input the fuzzers ever kept, crashers included, without clang.
 * usage: replay_NAME [DIR...] (default: $top_srcdir/t/fuzz/corpus/NAME). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t/fuzz/fuzz.h"

#ifndef FUZZ_NAME
#error "FUZZ_NAME must name the corpus directory"
#endif

static int replay_dir(const char *dir, unsigned *n);

static int
replay_dir(const char *dir, unsigned *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char path[4096];
		FILE *f;
		uint8_t *buf;
		long len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if ((f = fopen(path, "rb")) == NULL)
			continue;
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		rewind(f);
		buf = malloc(len > 0 ? (size_t)len : 1);
		if (len > 0 && fread(buf, 1, (size_t)len, f) != (size_t)len)
			len = 0;
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t)(len > 0 ? len : 0));
		free(buf);
		(*n)++;
	}
	closedir(d);
	return 0;
}

int
main(int argc, char **argv)
{
	char def[4096];
	const char *top = getenv("top_srcdir");
	unsigned n = 0;
	int bad = 0;

	snprintf(def, sizeof def, "%s/t/fuzz/corpus/%s", top ? top : ".", FUZZ_NAME);
	if (argc < 2) {
		bad = replay_dir(def, &n) != 0;
	} else {
		for (int i = 1; i < argc; i++)
			bad |= replay_dir(argv[i], &n) != 0;
	}
	printf("%s %d - %s: %u corpus inputs replayed without a crash\n", bad || n == 0 ? "not ok" : "ok",
	    1, FUZZ_NAME, n);
	printf("1..1\n");
	return bad || n == 0;
}
