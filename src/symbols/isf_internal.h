/* Volatility 3 ISF import: shared pieces of isf_*.c. */
#ifndef MS_SYMBOLS_ISF_INTERNAL_H
#define MS_SYMBOLS_ISF_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "memsift/profile.h"

#define MS_ISF_MAX_BYTES (256u << 20)  /* decompressed JSON */
#define MS_ISF_MAX_DEPTH 64            /* JSON nesting */
#define MS_ISF_MAX_VALUES (2u << 20)   /* JSON elements: bounds the parser's memory (~600 MiB); 10x the largest shipped ISF */
#define MS_ISF_MAX_NAME 1024           /* longest symbol or member name kept */

/* ---- text buffer ---- */

typedef struct ms_isf_text {
    char *data;
    size_t len;
    size_t cap;
    int failed;   /* an allocation failed; later appends are ignored */
} ms_isf_text;

void ms_isf_text_printf(ms_isf_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ms_isf_text_free(ms_isf_text *t);

/* ---- reading ---- */

/* Undo gzip or xz compression (detected from the magic bytes); plain JSON is
 * copied.  The result is NUL-terminated and at most MS_ISF_MAX_BYTES. */
ms_status ms_isf_decompress(const uint8_t *data, size_t len, const char *origin, char **text, size_t *text_len);
/* Parse JSON after checking nesting depth and element count. */
ms_status ms_isf_parse_json(const char *text, size_t len, const char *origin, json_t **out);

/* ---- types (the ISF's user_types and base_types) ---- */

typedef struct ms_isf_types {
    json_t *user;        /* object: name -> {kind, size, fields} */
    json_t *base;        /* object: name -> {size, ...}; may be empty */
    unsigned pointer_size;
    const char *origin;
} ms_isf_types;

/* Size of a type descriptor; 0 with *known 0 when it has none (function,
 * void, a missing user type).  Fails on malformed or absurd descriptors. */
ms_status ms_isf_type_size(const ms_isf_types *types, json_t *type, int depth, uint64_t *size, int *known);
/* A user type's declared size. */
ms_status ms_isf_struct_size(const ms_isf_types *types, const char *name, json_t *ut, uint32_t *size);
/* Offset and type of STRUCT.PATH (dotted, through struct/union members).
 * MS_ERR_NOT_FOUND when a part is absent. */
ms_status ms_isf_resolve(const ms_isf_types *types, const char *type, const char *path, uint32_t *offset,
                         json_t **member_type);
/* One `field` or `bits` line for a member of type `member_type` at `offset`. */
ms_status ms_isf_member_line(const ms_isf_types *types, ms_isf_text *out, const char *type, const char *path,
                             uint32_t offset, json_t *member_type, size_t *lines);
/* 1 when `s` can be written as one token of a profile line. */
int ms_isf_token_ok(const char *s);

/* ---- the kernel's profile body (the list in tools/profiles/proflib.py) ---- */

typedef struct ms_isf_spec {
    const char *type;
    const char *const *paths;   /* "A|B": alternative spellings, each written when present */
} ms_isf_spec;

extern const ms_isf_spec ms_isf_kernel_spec[];      /* terminated by a NULL type */
extern const char *const ms_isf_kernel_all_bits[];  /* NULL-terminated */
extern const char *const ms_isf_kddebugger_frag[];  /* NULL-terminated profile lines */
extern const char *const ms_isf_tcpip_symbols[];    /* NULL-terminated, tools/profiles/derive_tcpip.py order */

ms_status ms_isf_kernel_layouts(const ms_isf_types *types, ms_isf_text *out, size_t *structs, size_t *fields);
void ms_isf_kernel_constants(const ms_isf_types *types, uint32_t build, ms_isf_text *out);
uint32_t ms_isf_kdbg_size(uint32_t build);

#endif
