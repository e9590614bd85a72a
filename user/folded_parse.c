/* Streaming folded-stack reader and the frame annotation ttatrace adds to its own
 * folded output; see folded_parse.h for the accepted format. */
#include "folded_parse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "text_safe.h"

struct parser {
	const char *fname; /* escaped for messages */
	bool strict;
	uint64_t lineno;
	struct folded_parse_stats *stats;
	const char **frames;
	size_t frames_cap;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_kind_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

bool folded_parse__kind_ok(const char *kind, size_t len)
{
	if (!kind || len == 0 || len > FOLDED_MAX_KIND_LEN || kind[0] < 'a' || kind[0] > 'z')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_kind_char(kind[i]))
			return false;
	return true;
}

size_t folded_parse__annotation(const char *frame, const char **kind, size_t *kind_len,
				bool *error)
{
	size_t len = strlen(frame);
	size_t end, k;
	bool err = false;

	if (kind)
		*kind = NULL;
	if (kind_len)
		*kind_len = 0;
	if (error)
		*error = false;
	/* shortest annotated frame: "x [!]" */
	if (len < 5 || frame[len - 1] != ']')
		return len;
	end = len - 1; /* one past the kind */
	if (frame[end - 1] == '!') {
		err = true;
		end--;
	}
	k = end;
	while (k > 0 && is_kind_char(frame[k - 1]))
		k--;
	/* need "<name> [" before the kind, with a non-empty name */
	if (k < 3 || frame[k - 1] != '[' || frame[k - 2] != ' ')
		return len;
	if (end > k && !folded_parse__kind_ok(frame + k, end - k))
		return len;
	if (end == k && !err)
		return len;
	if (kind && end > k)
		*kind = frame + k;
	if (kind_len)
		*kind_len = end - k;
	if (error)
		*error = err;
	return k - 2;
}

/* Where a frame character must not go into a folded file: ';' splits frames,
 * line breaks split lines, other control characters confuse every reader. */
static int frame_char(unsigned char c)
{
	if (c == ';')
		return ':';
	if (c < 0x20 || c == 0x7f)
		return ' ';
	return c;
}

size_t folded_parse__format_frame(char *buf, size_t size, const char *name, const char *kind,
				  bool error)
{
	const unsigned char *p = (const unsigned char *)(name && *name ? name : "?");
	bool has_kind = kind && folded_parse__kind_ok(kind, strlen(kind));
	size_t n = 0;

	for (; *p; p++, n++)
		if (n + 1 < size)
			buf[n] = (char)frame_char(*p);
	if (size)
		buf[n < size ? n : size - 1] = '\0';
	if (has_kind || error) {
		int extra = snprintf(n < size ? buf + n : NULL, n < size ? size - n : 0, " [%s%s]",
				     has_kind ? kind : "", error ? "!" : "");

		n += (size_t)extra;
	}
	return n;
}

int folded_parse__write_frame(FILE *f, const char *name, const char *kind, bool error)
{
	const unsigned char *p = (const unsigned char *)(name && *name ? name : "?");
	bool has_kind = kind && folded_parse__kind_ok(kind, strlen(kind));

	for (; *p; p++)
		if (putc(frame_char(*p), f) == EOF)
			return -EIO;
	if (has_kind || error) {
		if (fprintf(f, " [%s%s]", has_kind ? kind : "", error ? "!" : "") < 0)
			return -EIO;
	}
	return 0;
}

static int report(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports one malformed line; returns -EINVAL when the parse must stop. */
static int report(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	p->stats->malformed++;
	if (p->strict || p->stats->malformed <= FOLDED_PARSE_MAX_REPORTS) {
		fprintf(stderr, "ttatrace: %s:%" PRIu64 ": ", p->fname, p->lineno);
		/* the arguments are escaped by the callers (tok()) */
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	return p->strict ? -EINVAL : 0;
}

/* At most 40 bytes of a token, escaped, so a binary file neither floods stderr
 * nor sends escape sequences to the terminal. */
static const char *tok(char *buf, size_t size, const char *s, size_t len)
{
	return text_safe(buf, size, s, len > 40 ? 40 : len);
}

static int parse_line(struct parser *p, char *line, size_t len, folded_parse_cb cb, void *ctx)
{
	size_t sp, stack_end, n = 0;
	uint64_t value = 0;
	char *s, t[TEXT_SAFE_SIZE(40)];

	if (memchr(line, '\0', len))
		return report(p, "NUL byte in line");
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || is_blank(line[len - 1])))
		len--;
	line[len] = '\0';
	if (len == 0)
		return 0;
	for (sp = len; sp > 0 && !is_blank(line[sp - 1]); sp--)
		;
	if (sp == 0)
		return report(p, "missing count (expected 'frame;frame;... COUNT')");
	for (size_t i = sp; i < len; i++) {
		unsigned d = (unsigned char)line[i] - '0';

		if (d > 9)
			return report(p, "count '%s' is not a non-negative integer",
				      tok(t, sizeof(t), line + sp, len - sp));
		if (value > (UINT64_MAX - d) / 10)
			return report(p, "count '%s' does not fit in 64 bits",
				      tok(t, sizeof(t), line + sp, len - sp));
		value = value * 10 + d;
	}
	for (stack_end = sp; stack_end > 0 && is_blank(line[stack_end - 1]); stack_end--)
		;
	if (stack_end == 0)
		return report(p, "empty stack before the count");
	line[stack_end] = '\0';

	s = line;
	for (;;) {
		char *semi = strchr(s, ';');

		if (semi)
			*semi = '\0';
		if (*s == '\0')
			return report(p, "empty frame name (frame %zu)", n + 1);
		if (n == p->frames_cap) {
			size_t cap = p->frames_cap ? p->frames_cap * 2 : 64;
			const char **fr = realloc(p->frames, cap * sizeof(*fr));

			if (!fr)
				return -ENOMEM;
			p->frames = fr;
			p->frames_cap = cap;
		}
		p->frames[n++] = s;
		if (!semi)
			break;
		s = semi + 1;
	}

	p->stats->stacks++;
	if (n > p->stats->max_depth)
		p->stats->max_depth = n;
	p->stats->total = p->stats->total + value < p->stats->total ? UINT64_MAX
								    : p->stats->total + value;
	return cb(p->frames, n, value, ctx);
}

/* getline() with a cap: one line into *LINE (grown as needed, NUL-terminated) up
 * to FOLDED_PARSE_MAX_LINE bytes. Returns its length, -1 at the end of the input,
 * -2 on a read error (errno set), -3 when the line is longer than the cap. */
static ssize_t read_line(FILE *f, char **line, size_t *cap)
{
	size_t len = 0;
	int c;

	for (;;) {
		c = getc_unlocked(f);
		if (c == EOF) {
			if (ferror(f))
				return -2;
			break;
		}
		if (len + 2 > *cap) {
			size_t ncap = *cap ? *cap * 2 : 4096;
			char *l;

			if (len >= FOLDED_PARSE_MAX_LINE)
				return -3;
			if (ncap > FOLDED_PARSE_MAX_LINE + 2)
				ncap = FOLDED_PARSE_MAX_LINE + 2;
			l = realloc(*line, ncap);
			if (!l) {
				errno = ENOMEM;
				return -2;
			}
			*line = l;
			*cap = ncap;
		}
		(*line)[len++] = (char)c;
		if (c == '\n')
			break;
	}
	if (len == 0)
		return -1;
	(*line)[len] = '\0';
	return (ssize_t)len;
}

int folded_parse__file(FILE *f, const char *fname, bool strict, folded_parse_cb cb, void *ctx,
		       struct folded_parse_stats *stats)
{
	struct folded_parse_stats local = { 0 };
	const char *raw = fname ? fname : "-";
	size_t name_size = TEXT_SAFE_SIZE(strlen(raw));
	char *safe_name = malloc(name_size);
	struct parser p = {
		.strict = strict,
		.stats = stats ? stats : &local,
	};
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int err = 0;

	memset(p.stats, 0, sizeof(*p.stats));
	if (!safe_name)
		return -ENOMEM;
	p.fname = text_safe(safe_name, name_size, raw, strlen(raw));
	errno = 0;
	while ((len = read_line(f, &line, &cap)) >= 0) {
		char *l = line;
		size_t n = (size_t)len;

		p.lineno++;
		p.stats->lines++;
		if (p.lineno == 1 && n >= 3 && memcmp(l, "\xEF\xBB\xBF", 3) == 0) {
			l += 3;
			n -= 3;
		}
		err = parse_line(&p, l, n, cb, ctx);
		if (err)
			goto cleanup;
	}
	if (len == -3) {
		err = -EFBIG;
		fprintf(stderr,
			"ttatrace: %s:%" PRIu64 ": line longer than %d MiB (is this a folded file?)\n",
			p.fname, p.lineno + 1, FOLDED_PARSE_MAX_LINE >> 20);
		goto cleanup;
	}
	if (len == -2) {
		err = errno ? -errno : -EIO;
		if (err == -EISDIR)
			fprintf(stderr, "ttatrace: %s: is a directory (expected a folded file)\n",
				p.fname);
		else
			fprintf(stderr, "ttatrace: reading %s: %s\n", p.fname, strerror(-err));
		goto cleanup;
	}
	if (p.stats->malformed > FOLDED_PARSE_MAX_REPORTS)
		fprintf(stderr, "ttatrace: %s: %" PRIu64 " malformed lines skipped (first %d shown)\n",
			p.fname, p.stats->malformed, FOLDED_PARSE_MAX_REPORTS);
cleanup:
	free(line);
	free(p.frames);
	free(safe_name);
	return err;
}

int folded_parse__buffer(const char *buf, size_t len, const char *fname, bool strict,
			 folded_parse_cb cb, void *ctx, struct folded_parse_stats *stats)
{
	static const char empty[1];
	FILE *f;
	int err;

	/* fmemopen() of zero bytes is refused by older C libraries: read an empty buffer */
	f = fmemopen((void *)(len ? buf : empty), len ? len : 1, "r");
	if (!f)
		return -errno;
	if (!len)
		(void)getc(f);
	err = folded_parse__file(f, fname, strict, cb, ctx, stats);
	fclose(f);
	return err;
}
