/* SPDX-License-Identifier: MIT */
/*
 * A main() for the gcc test build: linked with one fuzz target, it feeds
 * every saved corpus file to LLVMFuzzerTestOneInput() once, so inputs that
 * once crashed stay regression tests under ASan/UBSan without clang. It
 * does not mutate inputs or measure coverage; that is libFuzzer's job
 * (tests/fuzz/fuzz.mk).
 *
 * Usage: replay_fuzz_X FILE|DIR...   (directories are read recursively)
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Largest input replayed; libFuzzer's default -max_len is far below. */
#define REPLAY_MAX (64u * 1024 * 1024)

static int
replay_file(const char *path, size_t *count)
{
	FILE *f = NULL;
	uint8_t *buf = NULL;
	struct stat st;
	size_t n;
	int rv = -1;

	f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (fstat(fileno(f), &st) != 0 || st.st_size < 0 ||
	    (uint64_t)st.st_size > REPLAY_MAX) {
		fprintf(stderr, "replay: %s: cannot size or too large\n", path);
		goto out;
	}
	/* One spare byte so a zero-length input still gets a valid pointer
	 * and ASan catches reads past the end. */
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		goto out;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		goto out;
	}
	LLVMFuzzerTestOneInput(buf, n);
	(*count)++;
	rv = 0;
out:
	free(buf);
	if (f != NULL)
		fclose(f);
	return rv;
}

static int
replay_path(const char *path, size_t *count, int depth)
{
	struct stat st;
	DIR *d = NULL;
	struct dirent *de;
	char *child = NULL;
	int rv = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode))
		return replay_file(path, count);
	if (!S_ISDIR(st.st_mode))
		return 0;
	/* Bound the walk: a symlink loop must not recurse forever. */
	if (depth > 16)
		return 0;
	d = opendir(path);
	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		if (de->d_name[0] == '.')
			continue; /* ., .., and hidden files like .gitkeep */
		if (asprintf(&child, "%s/%s", path, de->d_name) < 0) {
			child = NULL;
			rv = -1;
			goto out;
		}
		if (replay_path(child, count, depth + 1) != 0)
			rv = -1;
		free(child);
		child = NULL;
	}
out:
	free(child);
	closedir(d);
	return rv;
}

int
main(int argc, char **argv)
{
	size_t count = 0;
	int rv = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		if (replay_path(argv[i], &count, 0) != 0)
			rv = 1;
	printf("%s: replayed %zu inputs%s\n", argv[0], count,
	    rv ? " (some could not be read)" : "");
	return rv;
}
