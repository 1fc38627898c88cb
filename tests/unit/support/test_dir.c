#include "test_dir.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

void ms_test_dir_create(char *dir, size_t size, const char *prefix)
{
    const char *base = getenv("MEMSIFT_TEST_TMP");
    snprintf(dir, size, "%s/%s.XXXXXX", base && *base ? base : "/tmp", prefix);
    assert_non_null(mkdtemp(dir));
}

void ms_test_dir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        char p[1024];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            chmod(p, 0700);
            if (rmdir(p) != 0)
                unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

void ms_test_dir_path(char *out, size_t size, const char *dir, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}
