#include <stdint.h>
#include <string.h>

#include "util/name.h"

static size_t name_utf8_seq(const unsigned char *s, size_t left);

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, <= U+10FFFF), or 0 if invalid. */
static size_t
name_utf8_seq(const unsigned char *s, size_t left)
{
	uint32_t cp;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) { n = 2; cp = s[0] & 0x1f; }
	else if (s[0] >= 0xe0 && s[0] <= 0xef) { n = 3; cp = s[0] & 0x0f; }
	else if (s[0] >= 0xf0 && s[0] <= 0xf4) { n = 4; cp = s[0] & 0x07; }
	else return 0;
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

const char *
name_check(const char *name, size_t len)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t i = 0, comp = 0;

	if (len == 0)
		return "empty name";
	if (len > RCFS_NAME_MAX)
		return "name longer than 1024 bytes";
	while (i < len) {
		if (s[i] == 0)
			return "name contains a NUL byte";
		/* A newline or tab would make one name print as two in a
		 * listing, and escapes could rewrite the terminal: no C0
		 * control (U+0001..U+001F) and no DEL (U+007F). */
		if (s[i] < 0x20 || s[i] == 0x7f)
			return "name contains a control character";
		if (s[i] == '/') {
			if (i == comp)
				return "name has an empty path component";
			if ((i - comp == 1 && s[comp] == '.') ||
			    (i - comp == 2 && s[comp] == '.' && s[comp + 1] == '.'))
				return "name has a '.' or '..' component";
			comp = ++i;
			continue;
		}
		size_t n = name_utf8_seq(s + i, len - i);
		if (n == 0)
			return "name is not valid UTF-8";
		i += n;
	}
	if (comp == len)
		return "name has an empty path component";
	if ((len - comp == 1 && s[comp] == '.') ||
	    (len - comp == 2 && s[comp] == '.' && s[comp + 1] == '.'))
		return "name has a '.' or '..' component";
	return NULL;
}
