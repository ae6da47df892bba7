/* output.h: how the hnvgw CLI prints results of hnvgwd (mgmt/api.h) on
 * stdout: JSON as it came, rows as an aligned table, text as text.
 *
 * Strings from hnvgwd (names, contexts, errors, what the kernel, zebra or
 * charon reported) are not trusted to be printable: what could drive a
 * terminal (C0 controls, DEL, C1 controls, bytes that are not UTF-8) is
 * printed escaped as \xNN, in JSON as \u00NN (issue 17 finding 11). */
#ifndef HNV_CLI_OUTPUT_H
#define HNV_CLI_OUTPUT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

/* s with every C0 control (but '\n' and '\t' when text is true), DEL, C1
 * control (U+0080-U+009F in UTF-8) and byte outside valid UTF-8 (a lone
 * 0x9b is CSI to an 8-bit terminal) written as \xNN; other UTF-8 is kept.
 * Malloc'd; NULL when out of memory. */
char *hnv_cli_escape(const char *s, bool text);
/* fputs of hnv_cli_escape(s, text) ("?" when out of memory). */
void hnv_cli_fputs_safe(const char *s, bool text, FILE *f);

/* o pretty-printed, "null" for NULL; DEL and C1 controls in strings as
 * \u00NN. */
void hnv_cli_print_json(json_object *o);
/* o on one line (hnvgw-dp's trace records), escaped as hnv_cli_print_json. */
void hnv_cli_print_json_line(json_object *o);
/* Rows (objects) as an aligned table: the columns are the keys in the
 * order they first appear (at most 64), a cell of a list its items joined
 * with ',', null and "" as '-'. Anything but an array is printed as JSON. */
void hnv_cli_print_table(json_object *rows);
/* A string result, ending in a newline: as it is when stdout is not a
 * terminal (show config stays replayable), else escaped (text mode). */
void hnv_cli_print_text(json_object *o);

/* Whether res, the result of exec or rollback, says the change was not
 * (fully) applied: "applied": false (issue 17 finding 13; a result without
 * "applied" was). Then *what is what was not, "OBJECT: ERROR; ..." (raw:
 * escape it for a terminal; malloc'd, NULL when out of memory). */
bool hnv_cli_not_applied(json_object *res, char **what);

#endif
