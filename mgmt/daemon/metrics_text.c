/* metrics_text.c: the Prometheus text exposition format (metrics_text.h). */
#include "metrics_text.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* HELP text: backslash and newline escaped; in_label: double quote too. */
static void escape(struct hnv_buf *b, const char *s, bool in_label)
{
	const char *run = s;
	for (; *s; s++) {
		const char *e = NULL;
		if (*s == '\\')
			e = "\\\\";
		else if (*s == '\n')
			e = "\\n";
		else if (*s == '"' && in_label)
			e = "\\\"";
		if (!e)
			continue;
		hnv_buf_append(b, run, (size_t)(s - run));
		hnv_buf_puts(b, e);
		run = s + 1;
	}
	hnv_buf_append(b, run, (size_t)(s - run));
}

void hnv_prom_escape(struct hnv_buf *b, const char *s)
{
	escape(b, s, true);
}

void hnv_prom_family(struct hnv_buf *b, const char *name, const char *type, const char *help)
{
	hnv_buf_printf(b, "# HELP %s ", name);
	escape(b, help, false);
	hnv_buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void head(struct hnv_buf *b, const char *name, const char *const *labels)
{
	hnv_buf_puts(b, name);
	if (!labels || !labels[0])
		return;
	hnv_buf_puts(b, "{");
	for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
		hnv_buf_printf(b, "%s%s=\"", i ? "," : "", labels[i]);
		escape(b, labels[i + 1], true);
		hnv_buf_puts(b, "\"");
	}
	hnv_buf_puts(b, "}");
}

void hnv_prom_u64(struct hnv_buf *b, const char *name, const char *const *labels, uint64_t v)
{
	head(b, name, labels);
	hnv_buf_printf(b, " %" PRIu64 "\n", v);
}

void hnv_prom_f64(struct hnv_buf *b, const char *name, const char *const *labels, double v)
{
	head(b, name, labels);
	if (isnan(v))
		hnv_buf_puts(b, " NaN\n");
	else if (isinf(v))
		hnv_buf_puts(b, v > 0 ? " +Inf\n" : " -Inf\n");
	else
		hnv_buf_printf(b, " %.17g\n", v);
}
