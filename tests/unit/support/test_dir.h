/* A scratch directory per test group, under $MEMSIFT_TEST_TMP (or /tmp). */
#ifndef MS_TEST_DIR_H
#define MS_TEST_DIR_H

#include <stddef.h>

/* Make "<tmp>/<prefix>.XXXXXX" into dir; fails the test on error. */
void ms_test_dir_create(char *dir, size_t size, const char *prefix);
/* Remove the directory, its files and empty subdirectories (restoring
 * permissions a test took away first). */
void ms_test_dir_remove(const char *dir);
/* "<dir>/<name>" */
void ms_test_dir_path(char *out, size_t size, const char *dir, const char *name);

#endif
