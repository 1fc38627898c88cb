/* Profiles: the text format, look-ups, the built-in set and the tcpip index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "memsift/profile.h"

static const char sample[] =
    "# a comment\n"
    "profile test-19041-x64\n"
    "module nt\n"
    "arch x64\n"
    "builds 19041 19045\n"
    "version 10.0.19041.1288\n"
    "pdb ntkrnlmp.pdb CA8E2F01B822EDE6357898BFBF862997 1\n"
    "source derived from an ISF   # trailing words kept\n"
    "struct _EPROCESS 0xa40\n"
    "field _EPROCESS UniqueProcessId 0x440\n"
    "field _EPROCESS Pcb.DirectoryTableBase 0x28 8\n"
    "field _EPROCESS ImageFileName 0x5a8\n"
    "field _EPROCESS ImageFileName 0x5a9\n" /* a later statement overrides */
    "bits _MMPTE_SOFTWARE PageFileLow 0 12 4\n"
    "symbol PsActiveProcessHead 0xcfbe50\n"
    "const KDBG_SIZE 0x368\n"
    "revisions 100 19934\n"
    "candidate 3959_x64 TCBTable 0xc8d30\n"
    "candidate 1830_x64 TCBTable 0x8f2d0\n"
    "const TAG_TCP_ENDPOINT TcpE\n";

static ms_profile *parse_ok(const char *text)
{
    ms_profile *p = NULL;
    assert_int_equal(ms_profile_parse(text, strlen(text), "sample", &p), MS_OK);
    assert_non_null(p);
    return p;
}

static void parses_every_statement(void **state)
{
    (void)state;
    ms_profile *p = parse_ok(sample);
    assert_string_equal(ms_profile_name(p), "test-19041-x64");
    assert_string_equal(ms_profile_module(p), "nt");
    assert_int_equal(ms_profile_pointer_size(p), 8);
    assert_int_equal(ms_profile_build_min(p), 19041);
    assert_int_equal(ms_profile_build_max(p), 19045);
    assert_string_equal(ms_profile_pdb_guid(p), "CA8E2F01B822EDE6357898BFBF862997");
    assert_int_equal(ms_profile_pdb_age(p), 1);
    assert_string_equal(ms_profile_source(p), "derived from an ISF   # trailing words kept");

    uint32_t v;
    assert_int_equal(ms_profile_struct_size(p, "_EPROCESS", &v), MS_OK);
    assert_int_equal(v, 0xa40);
    assert_int_equal(ms_profile_field(p, "_EPROCESS", "UniqueProcessId", &v), MS_OK);
    assert_int_equal(v, 0x440);
    assert_int_equal(ms_profile_field(p, "_EPROCESS", "Pcb.DirectoryTableBase", &v), MS_OK);
    assert_int_equal(v, 0x28);
    assert_int_equal(ms_profile_field(p, "_EPROCESS", "ImageFileName", &v), MS_OK);
    assert_int_equal(v, 0x5a9);

    uint32_t off, pos, len;
    assert_int_equal(ms_profile_bits(p, "_MMPTE_SOFTWARE", "PageFileLow", &off, &pos, &len), MS_OK);
    assert_int_equal(off, 0);
    assert_int_equal(pos, 12);
    assert_int_equal(len, 4);
    /* A plain field is not a bit field. */
    assert_int_equal(ms_profile_bits(p, "_EPROCESS", "UniqueProcessId", &off, &pos, &len), MS_ERR_NOT_FOUND);

    uint64_t rva;
    assert_int_equal(ms_profile_symbol(p, "PsActiveProcessHead", &rva), MS_OK);
    assert_int_equal(rva, 0xcfbe50);
    uint64_t c;
    assert_int_equal(ms_profile_const_u64(p, "KDBG_SIZE", &c), MS_OK);
    assert_int_equal(c, 0x368);
    const char *tag;
    assert_int_equal(ms_profile_const(p, "TAG_TCP_ENDPOINT", &tag), MS_OK);
    assert_string_equal(tag, "TcpE");
    assert_int_equal(ms_profile_const_u64(p, "TAG_TCP_ENDPOINT", &c), MS_ERR_FORMAT);
    assert_int_equal(ms_profile_revision_min(p), 100);
    assert_int_equal(ms_profile_revision_max(p), 19934);

    /* Candidate sets come back sorted by set label. */
    const char *set, *name;
    assert_int_equal(ms_profile_candidate_count(p), 2);
    assert_int_equal(ms_profile_candidate_at(p, 0, &set, &name, &rva), MS_OK);
    assert_string_equal(set, "1830_x64");
    assert_string_equal(name, "TCBTable");
    assert_int_equal(rva, 0x8f2d0);
    assert_int_equal(ms_profile_candidate_at(p, 2, &set, &name, &rva), MS_ERR_ARG);
    ms_profile_destroy(p);
}

static void missing_entries_name_the_profile(void **state)
{
    (void)state;
    ms_profile *p = parse_ok(sample);
    uint32_t v;
    uint64_t rva;
    assert_int_equal(ms_profile_field(p, "_EPROCESS", "NoSuchField", &v), MS_ERR_NOT_FOUND);
    assert_non_null(strstr(ms_last_error(), "test-19041-x64"));
    assert_non_null(strstr(ms_last_error(), "_EPROCESS.NoSuchField"));
    assert_int_equal(ms_profile_struct_size(p, "_KTHREAD", &v), MS_ERR_NOT_FOUND);
    assert_int_equal(ms_profile_symbol(p, "KiWaitNever", &rva), MS_ERR_NOT_FOUND);
    ms_profile_destroy(p);
}

static void expect_error(const char *text, const char *needle)
{
    ms_profile *p = NULL;
    assert_int_equal(ms_profile_parse(text, strlen(text), "bad.prof", &p), MS_ERR_FORMAT);
    assert_null(p);
    if (strstr(ms_last_error(), needle) == NULL)
        fail_msg("error '%s' does not mention '%s'", ms_last_error(), needle);
}

static void rejects_malformed_profiles(void **state)
{
    (void)state;
    expect_error("profile x\nmodule nt\narch arm\nbuilds 1 2\n", "expected arch x86 or x64");
    expect_error("profile x\nmodule nt\narch x64\nbuilds 5 2\n", "MIN <= MAX");
    expect_error("profile x\nmodule nt\narch x64\nbuilds 1 2\nfield _A b zz\n", "expected a number, found 'zz'");
    expect_error("profile x\nmodule nt\narch x64\nbuilds 1 2\nstruct _A\n", "bad.prof:5");
    expect_error("profile x\nmodule nt\narch x64\nbuilds 1 2\nbits _A b 0 60 8\n", "within 64 bits");
    expect_error("profile x\nmodule nt\narch x64\nbuilds 1 2\nfrobnicate 1\n", "unknown statement 'frobnicate'");
    expect_error("module nt\narch x64\n", "needs 'profile'");
    expect_error("profile x\nmodule nt\narch x64\nbuilds 1 2\nfield _A b -1\n", "expected a number");

    ms_profile *p = NULL;
    const char with_nul[] = "profile x\0module nt\n";
    assert_int_equal(ms_profile_parse(with_nul, sizeof with_nul - 1, "nul.prof", &p), MS_ERR_FORMAT);
    assert_non_null(strstr(ms_last_error(), "NUL"));
}

static void builtin_profiles_load_and_resolve(void **state)
{
    (void)state;
    ms_profile_db *db = NULL;
    assert_int_equal(ms_profile_db_create(&db), MS_OK);
    if (ms_profile_db_count(db) == 0) {
        ms_profile_db_destroy(db);
        skip();
    }
    const ms_profile *p = NULL;
    int exact = -1;
    assert_int_equal(ms_profile_db_find(db, "nt", 8, 19041, &p, &exact), MS_OK);
    assert_int_equal(exact, 1);
    assert_true(ms_profile_build_min(p) <= 19041 && ms_profile_build_max(p) >= 19041);
    uint32_t pid;
    /* Windows 10 2004..22H2 x64: EPROCESS.UniqueProcessId is at 0x440. */
    assert_int_equal(ms_profile_field(p, "_EPROCESS", "UniqueProcessId", &pid), MS_OK);
    assert_int_equal(pid, 0x440);

    /* A build no profile covers falls back to the nearest one, flagged inexact. */
    assert_int_equal(ms_profile_db_find(db, "nt", 8, 99999, &p, &exact), MS_OK);
    assert_int_equal(exact, 0);
    assert_int_equal(ms_profile_db_find(db, "nosuchmodule", 8, 19041, &p, &exact), MS_ERR_NOT_FOUND);
    ms_profile_db_destroy(db);
}

static void user_directory_overrides_builtin(void **state)
{
    (void)state;
    char dir[] = "/tmp/ms-profile-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/custom.prof", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("profile custom-x64\nmodule nt\narch x64\nbuilds 19041 19041\nfield _EPROCESS UniqueProcessId 0x123\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/tcpip.idx", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("# guid age arch symbols\n"
          "0123456789abcdef0123456789ABCDEF 2 x64 PartitionTable=0x1f2b28 PartitionCount=0x1f2b20 Other=0x5\n", f);
    fclose(f);

    ms_profile_db *db = NULL;
    assert_int_equal(ms_profile_db_create(&db), MS_OK);
    size_t before = ms_profile_db_count(db);
    assert_int_equal(ms_profile_db_add_dir(db, dir), MS_OK);
    assert_int_equal(ms_profile_db_count(db), before + 1);
    const ms_profile *p;
    int exact;
    assert_int_equal(ms_profile_db_find(db, "nt", 8, 19041, &p, &exact), MS_OK);
    assert_string_equal(ms_profile_name(p), "custom-x64");

    ms_tcpip_symbols sym;
    assert_int_equal(ms_profile_db_tcpip_symbols(db, "0123456789ABCDEF0123456789abcdef", 2, &sym), MS_OK);
    assert_int_equal(sym.partition_table, 0x1f2b28);
    assert_int_equal(sym.partition_count, 0x1f2b20);
    assert_int_equal(sym.tcp_port_pool, 0);
    assert_int_equal(sym.pointer_size, 8);
    assert_int_equal(ms_profile_db_tcpip_symbols(db, "0123456789ABCDEF0123456789abcdef", 3, &sym), MS_ERR_NOT_FOUND);
    ms_profile_db_destroy(db);

    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    assert_int_equal(system(path), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_every_statement),
        cmocka_unit_test(missing_entries_name_the_profile),
        cmocka_unit_test(rejects_malformed_profiles),
        cmocka_unit_test(builtin_profiles_load_and_resolve),
        cmocka_unit_test(user_directory_overrides_builtin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
