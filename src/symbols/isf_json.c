/* JSON parsing with limits: jansson parses, after a linear scan has checked
 * the nesting depth and the element count (which bound its memory). */
#include <string.h>

#include "isf_internal.h"

static ms_status prescan(const char *text, size_t len, const char *origin)
{
    unsigned depth = 0;
    size_t values = 1;
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
            continue;
        }
        switch (c) {
        case '"':
            in_string = 1;
            break;
        case '{':
        case '[':
            if (++depth > MS_ISF_MAX_DEPTH)
                return ms_fail(MS_ERR_LIMIT, "%s: JSON nested deeper than %d levels at byte %zu", origin,
                               MS_ISF_MAX_DEPTH, i);
            values++;
            break;
        case '}':
        case ']':
            if (depth > 0)
                depth--;
            break;
        case ',':
            if (++values > MS_ISF_MAX_VALUES)
                return ms_fail(MS_ERR_LIMIT, "%s: more than %u JSON elements", origin, MS_ISF_MAX_VALUES);
            break;
        default:
            break;
        }
    }
    return MS_OK;
}

ms_status ms_isf_parse_json(const char *text, size_t len, const char *origin, json_t **out)
{
    size_t start = 0;
    while (start < len && (text[start] == ' ' || text[start] == '\t' || text[start] == '\r' || text[start] == '\n'))
        start++;
    if (start == len)
        return ms_fail(MS_ERR_FORMAT, "%s: expected a Volatility 3 ISF (JSON), found an empty file", origin);
    if (text[start] != '{')
        return ms_fail(MS_ERR_FORMAT, "%s: expected a Volatility 3 ISF (a JSON object), found %s", origin,
                       text[start] == '[' ? "a JSON array" : "something that is not JSON");
    ms_status st = prescan(text, len, origin);
    if (st != MS_OK)
        return st;
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (root == NULL) {
        int truncated = json_error_code(&err) == json_error_premature_end_of_input;
        return ms_fail(truncated ? MS_ERR_TRUNCATED : MS_ERR_FORMAT, "%s: %s JSON at line %d column %d: %s", origin,
                       truncated ? "truncated" : "invalid", err.line, err.column, err.text);
    }
    *out = root;
    return MS_OK;
}
