/* metrics_text.h: writing the Prometheus text exposition format (0.0.4).
 *
 * A family is its "# HELP" and "# TYPE" lines followed by all its samples;
 * the caller writes each family once, its samples together. Label values
 * and HELP texts are escaped here (backslash, double quote in label values,
 * newline); metric and label names are the caller's constants, which must
 * match [a-zA-Z_:][a-zA-Z0-9_:]* and [a-zA-Z_][a-zA-Z0-9_]*.
 */
#ifndef HNV_METRICS_TEXT_H
#define HNV_METRICS_TEXT_H

#include "../../lib/vec.h"

#include <stdint.h>

/* type: "counter", "gauge" (or "untyped"). */
void hnv_prom_family(struct hnv_buf *b, const char *name, const char *type, const char *help);
/* One sample: name{k1="v1",...} value. labels: pairs of name and value,
 * then NULL (labels NULL: none). */
void hnv_prom_u64(struct hnv_buf *b, const char *name, const char *const *labels, uint64_t v);
void hnv_prom_f64(struct hnv_buf *b, const char *name, const char *const *labels, double v);
/* A label value escaped as the format wants it, appended to b. */
void hnv_prom_escape(struct hnv_buf *b, const char *s);

#endif
