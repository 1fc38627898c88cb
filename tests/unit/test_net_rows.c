/* plugins/net_rows.c: the network plugins' tables, filters and rows, put
 * through a probe plugin and the CSV renderer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "memsift/memsift.h"
#include "net_rows.h"
#include "registry.h"
#include "support/crashdump_builder.h"

#define UNIX_EPOCH_FILETIME 116444736000000000ull

/* ---- a probe plugin that puts fixed endpoints through a row set ---- */

static struct {
    ms_netrows_set set;
    ms_netrows_filter filter;
    const ms_net_endpoint *endpoints;
    size_t count;
} P;

static ms_status probe_run(ms_plugin_context *ctx)
{
    ms_netrows rows = {ctx, P.set, P.filter, MS_OK};
    for (size_t i = 0; i < P.count; i++) {
        ms_status st = ms_netrows_put(&rows, &P.endpoints[i]);
        if (st != MS_OK)
            return st;
    }
    return MS_OK;
}

static const ms_plugin *plugin_for(ms_netrows_set set)
{
    switch (set) {
    case MS_NETROWS_CONNECTIONS: return &ms_plugin_connections;
    case MS_NETROWS_CONNSCAN: return &ms_plugin_connscan;
    case MS_NETROWS_SOCKETS: return &ms_plugin_sockets;
    case MS_NETROWS_SOCKSCAN: return &ms_plugin_sockscan;
    case MS_NETROWS_NETSTAT: return &ms_plugin_netstat;
    case MS_NETROWS_NETSCAN: return &ms_plugin_netscan;
    }
    return NULL;
}

static ms_image *open_raw(void)
{
    uint8_t buf[0x2000];
    memset(buf, 0x5a, sizeof buf);
    char path[512];
    assert_int_equal(cdb_write_temp(buf, sizeof buf, path, sizeof path), 0);
    ms_image *img = NULL;
    ms_status st = ms_image_open(path, NULL, &img);
    unlink(path);
    if (st != MS_OK)
        fail_msg("ms_image_open: %s", ms_last_error());
    return img;
}

/* The CSV rows (header dropped, CRLF turned into LF) of `set`'s columns for
 * `endpoints` through `filter`. */
static char *rows_of(ms_netrows_set set, const ms_netrows_filter *filter, const ms_net_endpoint *endpoints,
                     size_t count)
{
    const ms_plugin *real = plugin_for(set);
    ms_plugin probe = {"probe", NULL, "probe", "probe", NULL, 0, real->columns, real->ncolumns, 0, probe_run};
    P.set = set;
    memset(&P.filter, 0, sizeof P.filter);
    if (filter != NULL)
        P.filter = *filter;
    P.endpoints = endpoints;
    P.count = count;

    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    ms_renderer *r = NULL;
    assert_int_equal(ms_renderer_create(MS_RENDER_CSV, out, &r), MS_OK);
    ms_image *img = open_raw();
    ms_plugin_host host = {img, r, NULL, NULL, NULL, NULL};
    ms_status st = ms_plugin_execute(&probe, &host, NULL, 0);
    if (st != MS_OK)
        fail_msg("ms_plugin_execute: %s", ms_last_error());
    ms_renderer_destroy(r);
    fclose(out);
    ms_image_close(img);

    char *body = strchr(buf, '\n');
    body = body ? body + 1 : buf + len;
    char *text = malloc(strlen(body) + 1), *w = text;
    assert_non_null(text);
    for (const char *c = body; *c; c++)
        if (*c != '\r')
            *w++ = *c;
    *w = '\0';
    free(buf);
    return text;
}

static void expect_rows(ms_netrows_set set, const ms_netrows_filter *filter, const ms_net_endpoint *endpoints,
                        size_t count, const char *expected)
{
    char *got = rows_of(set, filter, endpoints, count);
    assert_string_equal(got, expected);
    free(got);
}

static const ms_net_endpoint xp_connection = {
    .kind = MS_NET_XP_CONNECTION, .offset = 0x8162a008, .offset_phys = 0xdb3008, .family = 4, .protocol = 6,
    .local_addr = "192.168.8.120", .local_port = 1433, .foreign_addr = "210.186.6.135", .foreign_port = 80,
    .has_pid = 1, .pid = 1648, .owner = "explorer.exe", .sources = MS_NET_FROM_WALK, .plausible = 1,
};

static const ms_net_endpoint xp_socket = {
    .kind = MS_NET_XP_ADDRESS, .offset = 0x81628480, .offset_phys = 0x975480, .family = 4, .protocol = 17,
    .local_addr = "0.0.0.0", .local_port = 123, .has_pid = 1, .pid = 1196, .owner = "svchost.exe",
    .created = UNIX_EPOCH_FILETIME, .role = "connection", .role_peer = "10.0.0.1:80",
    .sources = MS_NET_FROM_SCAN, .plausible = 1,
};

static ms_net_endpoint vista_endpoint(const char *state, uint64_t pid)
{
    ms_net_endpoint e = {
        .kind = MS_NET_TCP_ENDPOINT, .offset = 0xffffef6a00026010ull, .offset_phys = 0x775010, .family = 6,
        .protocol = 6, .local_addr = "::1", .local_port = 49812, .foreign_addr = "::1", .foreign_port = 5357,
        .has_pid = 1, .pid = pid, .owner = "svchost.exe", .sources = MS_NET_FROM_WALK | MS_NET_FROM_SCAN,
        .plausible = 1,
    };
    snprintf(e.state, sizeof e.state, "%s", state);
    return e;
}

/* ---- tests ---- */

static void test_plugins_use_the_tables(void **state)
{
    (void)state;
    static const struct {
        ms_netrows_set set;
        const ms_column *columns;
        size_t ncolumns;
        const ms_option_spec *options;
        size_t noptions;
    } want[] = {
        {MS_NETROWS_CONNECTIONS, MS_NETROWS_TABLE(ms_netrows_connections_columns),
         MS_NETROWS_TABLE(ms_netrows_walk_options)},
        {MS_NETROWS_CONNSCAN, MS_NETROWS_TABLE(ms_netrows_connscan_columns), MS_NETROWS_TABLE(ms_netrows_scan_options)},
        {MS_NETROWS_SOCKETS, MS_NETROWS_TABLE(ms_netrows_sockets_columns), MS_NETROWS_TABLE(ms_netrows_walk_options)},
        {MS_NETROWS_SOCKSCAN, MS_NETROWS_TABLE(ms_netrows_sockscan_columns), MS_NETROWS_TABLE(ms_netrows_scan_options)},
        {MS_NETROWS_NETSTAT, MS_NETROWS_TABLE(ms_netrows_netstat_columns), ms_netrows_endpoint_options, 5},
        {MS_NETROWS_NETSCAN, MS_NETROWS_TABLE(ms_netrows_netscan_columns),
         MS_NETROWS_TABLE(ms_netrows_endpoint_options)},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const ms_plugin *p = plugin_for(want[i].set);
        assert_ptr_equal(p->columns, want[i].columns);
        assert_int_equal(p->ncolumns, want[i].ncolumns);
        assert_ptr_equal(p->options, want[i].options);
        assert_int_equal(p->noptions, want[i].noptions);
        /* A table shorter than net_rows.h declares would end in a zeroed entry. */
        for (size_t c = 0; c < p->ncolumns; c++)
            assert_non_null(p->columns[c].name);
        for (size_t o = 0; o < p->noptions; o++)
            assert_non_null(p->options[o].name);
    }
    assert_string_equal(ms_plugin_netstat.options[MS_NETROWS_FILTER_OPTIONS - 1].name, "established");
    assert_string_equal(ms_plugin_netscan.options[MS_NETROWS_FILTER_OPTIONS].name, "threads");
}

static void test_connection_rows(void **state)
{
    (void)state;
    ms_net_endpoint e[2] = {xp_connection, xp_connection};
    e[1].offset_phys = 0;
    e[1].has_pid = 0;
    e[1].owner[0] = '\0';
    e[1].plausible = 0;
    expect_rows(MS_NETROWS_CONNECTIONS, NULL, e, 2,
                "0x8162a008,0xdb3008,192.168.8.120,1433,210.186.6.135,80,1648,explorer.exe,True\n"
                "0x8162a008,,192.168.8.120,1433,210.186.6.135,80,,,False\n");
    /* A scan's row has no virtual offset and shows the physical one even when 0. */
    expect_rows(MS_NETROWS_CONNSCAN, NULL, e, 2,
                "0xdb3008,192.168.8.120,1433,210.186.6.135,80,1648,explorer.exe,True\n"
                "0x0,192.168.8.120,1433,210.186.6.135,80,,,False\n");
    ms_netrows_filter plausible = {.plausible_only = 1};
    expect_rows(MS_NETROWS_CONNSCAN, &plausible, e, 2,
                "0xdb3008,192.168.8.120,1433,210.186.6.135,80,1648,explorer.exe,True\n");
}

static void test_socket_rows(void **state)
{
    (void)state;
    ms_net_endpoint e[2] = {xp_socket, xp_socket};
    e[1].protocol = 300;
    e[1].created = 0;
    e[1].role[0] = '\0';
    e[1].role_peer[0] = '\0';
    expect_rows(MS_NETROWS_SOCKETS, NULL, e, 2,
                "0x81628480,0x975480,1196,123,17,UDP,0.0.0.0,1970-01-01T00:00:00+00:00,svchost.exe,"
                "connection,10.0.0.1:80,True\n"
                "0x81628480,0x975480,1196,123,300,,0.0.0.0,,svchost.exe,,,True\n");
    expect_rows(MS_NETROWS_SOCKSCAN, NULL, e, 1,
                "0x975480,1196,123,17,UDP,0.0.0.0,1970-01-01T00:00:00+00:00,svchost.exe,"
                "connection,10.0.0.1:80,True\n");
}

static void test_endpoint_rows(void **state)
{
    (void)state;
    ms_net_endpoint e[3] = {vista_endpoint("CLOSED", 1440), xp_socket, xp_connection};
    e[1].sources = MS_NET_FROM_SCAN;
    e[2].offset = 0;
    e[2].offset_phys = 0;
    e[2].local_addr[0] = '\0';
    e[2].protocol = 17;  /* a connection never shows '*' for its remote end */
    e[2].foreign_addr[0] = '\0';
    expect_rows(MS_NETROWS_NETSTAT, NULL, e, 3,
                "0xffffef6a00026010,TCPv6,::1,49812,::1,5357,CLOSED,1440,svchost.exe,,0x775010\n"
                "0x81628480,UDPv4,0.0.0.0,123,*,0,\"\",1196,svchost.exe,1970-01-01T00:00:00+00:00,0x975480\n"
                ",UDPv4,,1433,,80,\"\",1648,explorer.exe,,\n");
    expect_rows(MS_NETROWS_NETSCAN, NULL, e, 3,
                "0xffffef6a00026010,TCPv6,::1,49812,::1,5357,CLOSED,1440,svchost.exe,,both,0x775010\n"
                "0x81628480,UDPv4,0.0.0.0,123,*,0,\"\",1196,svchost.exe,1970-01-01T00:00:00+00:00,scan,"
                "0x975480\n"
                ",UDPv4,,1433,,80,\"\",1648,explorer.exe,,walk,\n");
}

static void test_filters(void **state)
{
    (void)state;
    ms_net_endpoint e[4] = {vista_endpoint("ESTABLISHED", 4), vista_endpoint("LISTENING", 4),
                            vista_endpoint("TIME_WAIT", 8), xp_socket};
    e[0].local_port = 1;
    e[1].local_port = 2;
    e[2].local_port = 3;
    e[2].has_pid = 0;
    static const struct {
        ms_netrows_filter filter;
        const char *ports;   /* local ports of the rows kept */
    } cases[] = {
        {{0}, "1 2 3 123 "},
        {{.by_pid = 1, .pid = 4}, "1 2 "},
        {{.by_pid = 1, .pid = 8}, ""},   /* e[2] has PID 8 but no PID read */
        {{.proto = "tcp"}, "1 2 3 "},
        {{.proto = "TCPv6"}, "1 2 3 "},
        {{.proto = "TCPv4"}, ""},
        {{.proto = "udp"}, "123 "},
        {{.state = "time_wait"}, "3 "},
        {{.listening = 1}, "2 "},
        {{.established = 1}, "1 "},
        {{.by_pid = 1, .pid = 4, .proto = "TCP", .listening = 1}, "2 "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = rows_of(MS_NETROWS_NETSTAT, &cases[i].filter, e, 4), ports[64] = "";
        for (char *line = got; *line; line = strchr(line, '\n') + 1) {
            unsigned port;
            assert_int_equal(sscanf(line, "%*[^,],%*[^,],%*[^,],%u", &port), 1);
            snprintf(ports + strlen(ports), sizeof ports - strlen(ports), "%u ", port);
        }
        if (strcmp(ports, cases[i].ports) != 0)
            fail_msg("filter %zu kept ports '%s', expected '%s'", i, ports, cases[i].ports);
        free(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugins_use_the_tables),
        cmocka_unit_test(test_connection_rows),
        cmocka_unit_test(test_socket_rows),
        cmocka_unit_test(test_endpoint_rows),
        cmocka_unit_test(test_filters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
