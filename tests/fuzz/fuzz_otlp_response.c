/* libFuzzer harness: what the OTLP/HTTP exporter parses from a collector's answer:
 * Retry-After, the error body (google.rpc.Status or text) and a 2xx's partial
 * success. Input: first byte picks the content type, then "HEADER\nBODY". */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otlp_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ctypes[] = { "application/x-protobuf", "application/json",
					      "text/plain", NULL };
	const char *ctype;
	char *text, *body, msg[256];
	size_t body_len;
	uint64_t ms;

	if (size < 1)
		return 0;
	ctype = ctypes[data[0] % 4];
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	body = memchr(text, '\n', size - 1);
	if (body) {
		*body++ = '\0';
		body_len = size - 1 - (size_t)(body - text);
	} else {
		body = text;
		body_len = size - 1;
	}
	(void)otlp_http__parse_retry_after(text, (time_t)1700000000, &ms);
	otlp_http__error_message(ctype, (const uint8_t *)body, body_len, msg, sizeof(msg));
	if (strlen(msg) >= sizeof(msg))
		__builtin_trap();
	(void)otlp_http__partial_rejections(ctype, body, body_len, 100, msg, sizeof(msg));
	(void)otlp_http__status_retryable((long)data[0] * 3);
	free(text);
	return 0;
}
