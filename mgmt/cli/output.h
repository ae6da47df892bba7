/* output.h: how the hnvgw CLI prints results of hnvgwd (mgmt/api.h) on
 * stdout: JSON as it came, rows as an aligned table, text as text. */
#ifndef HNV_CLI_OUTPUT_H
#define HNV_CLI_OUTPUT_H

#include <json-c/json.h>

/* o pretty-printed, "null" for NULL. */
void hnv_cli_print_json(json_object *o);
/* Rows (objects) as an aligned table: the columns are the keys in the
 * order they first appear (at most 64), a cell of a list its items joined
 * with ',', null and "" as '-'. Anything but an array is printed as JSON. */
void hnv_cli_print_table(json_object *rows);
/* A string result as it is, ending in a newline. */
void hnv_cli_print_text(json_object *o);

#endif
