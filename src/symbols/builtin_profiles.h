/* The profiles/ files compiled into the library (generated at build time). */
#ifndef MS_SYMBOLS_BUILTIN_PROFILES_H
#define MS_SYMBOLS_BUILTIN_PROFILES_H

#include <stddef.h>

typedef struct ms_builtin_file {
    const char *path;     /* relative to profiles/ */
    const char *data;
    size_t size;
} ms_builtin_file;

/* Terminated by an entry whose path is NULL. */
extern const ms_builtin_file ms_builtin_profiles[];

#endif
