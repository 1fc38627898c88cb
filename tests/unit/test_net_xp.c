/* XP / 2003 network objects: layouts, decoding, plausibility, roles and
 * names, on hand-built buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "memsift/net.h"
#include "memsift/profile.h"
#include "net/xp_net.h"

static const ms_profile *find_profile(ms_profile_db *db, const char *name)
{
    for (size_t i = 0; i < ms_profile_db_count(db); i++)
        if (strcmp(ms_profile_name(ms_profile_db_at(db, i)), name) == 0)
            return ms_profile_db_at(db, i);
    return NULL;
}

static void layout_of(const char *name, ms_xp_layout *l)
{
    ms_profile_db *db;
    assert_int_equal(ms_profile_db_create(&db), MS_OK);
    const ms_profile *p = find_profile(db, name);
    assert_non_null(p);
    assert_int_equal(ms_xp_layout_from_profile(p, l), MS_OK);
    l->profile = NULL; /* the database goes away */
    ms_profile_db_destroy(db);
}

static void test_layouts(void **state)
{
    (void)state;
    ms_xp_layout l;
    layout_of("xp-x86", &l);
    assert_int_equal(l.ptr, 4);
    assert_int_equal(l.hdr, 8);
    assert_int_equal(l.t_size, 0x1c);   /* Pid 0x18 + 4 */
    assert_int_equal(l.a_size, 0x160);  /* CreateTime 0x158 + 8 */
    assert_int_equal(l.a_laddr, 0x2c);
    layout_of("2003-x86", &l);
    assert_int_equal(l.a_laddr, 0x30);
    assert_int_equal(l.a_pid, 0x14c);
    layout_of("2003-x64", &l);
    assert_int_equal(l.ptr, 8);
    assert_int_equal(l.hdr, 16);
    assert_int_equal(l.t_size, 0x24);
    assert_int_equal(l.a_size, 0x250);
}

static void put_ip(uint8_t *p, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    p[0] = a, p[1] = b, p[2] = c, p[3] = d;
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* 2009-07-11 08:00:00 UTC */
#define NOW 0x01CA020D5E1B4000ull

static void test_decode_connection_x86(void **state)
{
    (void)state;
    ms_xp_layout l;
    layout_of("xp-x86", &l);
    uint8_t obj[0x20];
    memset(obj, 0xEE, sizeof obj);
    put_ip(obj + 0xc, 66, 102, 7, 99);
    put_ip(obj + 0x10, 192, 168, 1, 10);
    put_be16(obj + 0x14, 443);
    put_be16(obj + 0x16, 1062);
    put_le(obj + 0x18, 1304, 4);
    ms_net_endpoint e;
    ms_xp_decode_connection(&l, obj, &e);
    assert_int_equal(e.kind, MS_NET_XP_CONNECTION);
    assert_int_equal(e.family, 4);
    assert_int_equal(e.protocol, 6);
    assert_string_equal(e.local_addr, "192.168.1.10");
    assert_int_equal(e.local_port, 1062);
    assert_string_equal(e.foreign_addr, "66.102.7.99");
    assert_int_equal(e.foreign_port, 443);
    assert_true(e.has_pid);
    assert_int_equal(e.pid, 1304);
    assert_true(e.plausible);
    assert_string_equal(ms_net_proto_name(&e), "TCPv4");

    /* Rekall's overwritten sample row */
    put_ip(obj + 0x10, 3, 0, 48, 2);
    put_be16(obj + 0x16, 17985);
    put_ip(obj + 0xc, 66, 179, 81, 245);
    put_be16(obj + 0x14, 20084);
    put_le(obj + 0x18, 4287933200u, 4);
    ms_xp_decode_connection(&l, obj, &e);
    assert_string_equal(e.local_addr, "3.0.48.2");
    assert_int_equal(e.pid, 4287933200u);
    assert_false(e.plausible);
}

static void test_decode_socket_x64(void **state)
{
    (void)state;
    ms_xp_layout l;
    layout_of("2003-x64", &l);
    uint8_t obj[0x250];
    memset(obj, 0, sizeof obj);
    put_ip(obj + 0x58, 0, 0, 0, 0);
    put_be16(obj + 0x5c, 445);
    put_le(obj + 0x5e, 17, 2);
    put_le(obj + 0x238, 4, 4);
    put_le(obj + 0x248, NOW - 36000000000ull, 8);
    ms_net_endpoint e;
    ms_xp_decode_socket(&l, obj, NOW, &e);
    assert_int_equal(e.kind, MS_NET_XP_ADDRESS);
    assert_int_equal(e.protocol, 17);
    assert_string_equal(e.local_addr, "0.0.0.0");
    assert_int_equal(e.local_port, 445);
    assert_string_equal(e.foreign_addr, "*");
    assert_int_equal(e.pid, 4);
    assert_int_equal(e.created, NOW - 36000000000ull);
    assert_true(e.plausible);
    assert_string_equal(ms_net_proto_name(&e), "UDPv4");

    /* created a century after the image's time */
    put_le(obj + 0x248, 0x0200000000000000ull, 8);
    ms_xp_decode_socket(&l, obj, NOW, &e);
    assert_false(e.plausible);
    /* without an image time, before 2100 is enough */
    put_le(obj + 0x248, NOW + 10 * 864000000000ull, 8);
    ms_xp_decode_socket(&l, obj, NOW, &e);
    assert_false(e.plausible);
    ms_xp_decode_socket(&l, obj, 0, &e);
    assert_true(e.plausible);
}

static void test_plausibility_rules(void **state)
{
    (void)state;
    const uint8_t any[4] = {0, 0, 0, 0}, nic[4] = {10, 1, 2, 3}, web[4] = {93, 184, 216, 34};
    const uint8_t mcast[4] = {224, 0, 0, 251}, bcast[4] = {255, 255, 255, 255}, zero_net[4] = {0, 1, 2, 3};
    assert_true(ms_xp_pid_plausible(0));
    assert_true(ms_xp_pid_plausible(4));
    assert_true(ms_xp_pid_plausible((1u << 26) - 4));
    assert_false(ms_xp_pid_plausible(1u << 26));
    assert_false(ms_xp_pid_plausible(1306));
    assert_true(ms_xp_connection_plausible(nic, 1050, web, 80, 1304));
    assert_true(ms_xp_connection_plausible(any, 1050, web, 80, 1304));
    assert_false(ms_xp_connection_plausible(nic, 0, web, 80, 1304));
    assert_false(ms_xp_connection_plausible(nic, 1050, web, 0, 1304));
    assert_false(ms_xp_connection_plausible(nic, 1050, any, 80, 1304));
    assert_false(ms_xp_connection_plausible(nic, 1050, mcast, 80, 1304));
    assert_false(ms_xp_connection_plausible(bcast, 1050, web, 80, 1304));
    assert_false(ms_xp_connection_plausible(zero_net, 1050, web, 80, 1304));
    assert_false(ms_xp_connection_plausible(nic, 1050, web, 80, 1305));

    uint64_t t = NOW - 1000;
    assert_true(ms_xp_socket_plausible(any, 135, 6, 812, t, NOW));
    assert_true(ms_xp_socket_plausible(any, 0, 47, 4, t, NOW));     /* raw GRE */
    assert_true(ms_xp_socket_plausible(any, 0, 0, 4, t, NOW));      /* raw, protocol 0 */
    assert_false(ms_xp_socket_plausible(any, 0, 6, 812, t, NOW));   /* TCP without a port */
    assert_false(ms_xp_socket_plausible(any, 0, 17, 812, t, NOW));
    assert_false(ms_xp_socket_plausible(any, 135, 256, 812, t, NOW));
    assert_false(ms_xp_socket_plausible(mcast, 1900, 17, 812, t, NOW));
    assert_false(ms_xp_socket_plausible(any, 135, 6, 813, t, NOW));
    assert_false(ms_xp_socket_plausible(any, 135, 6, 812, 0, NOW));
    assert_false(ms_xp_socket_plausible(any, 135, 6, 812, 0x0100000000000000ull, NOW)); /* 1957 */
}

static ms_net_endpoint sock_row(const char *addr, uint16_t port, unsigned proto, uint64_t pid)
{
    ms_net_endpoint e;
    memset(&e, 0, sizeof e);
    e.kind = MS_NET_XP_ADDRESS;
    e.protocol = proto;
    strcpy(e.local_addr, addr);
    e.local_port = port;
    e.has_pid = 1;
    e.pid = pid;
    e.plausible = 1;
    return e;
}

static void add_conn(ms_xp_conns *c, const char *la, uint16_t lp, const char *ra, uint16_t rp, uint64_t pid,
                     int plausible)
{
    ms_net_endpoint e;
    memset(&e, 0, sizeof e);
    e.kind = MS_NET_XP_CONNECTION;
    strcpy(e.local_addr, la);
    strcpy(e.foreign_addr, ra);
    e.local_port = lp;
    e.foreign_port = rp;
    e.has_pid = 1;
    e.pid = pid;
    e.plausible = plausible;
    assert_int_equal(ms_xp_conns_add(c, &e), MS_OK);
}

static void test_roles(void **state)
{
    (void)state;
    ms_xp_conns c = {0};
    add_conn(&c, "10.0.0.5", 1062, "66.102.7.99", 443, 1304, 1);
    add_conn(&c, "10.0.0.5", 445, "10.0.0.9", 1100, 4, 1);        /* accepted on a service port */
    add_conn(&c, "10.0.0.5", 3389, "10.0.0.9", 1200, 700, 1);     /* two peers on one port */
    add_conn(&c, "10.0.0.5", 3389, "10.0.0.8", 1300, 700, 1);
    add_conn(&c, "3.0.48.2", 17985, "66.179.81.245", 20084, 1304, 0); /* not kept */
    assert_int_equal(c.count, 4);

    ms_net_endpoint s = sock_row("0.0.0.0", 1062, 6, 1304);
    ms_xp_role(&c, &s);
    assert_string_equal(s.role, "connection");
    assert_string_equal(s.role_peer, "66.102.7.99:443");

    s = sock_row("0.0.0.0", 1062, 6, 1308); /* other process */
    ms_xp_role(&c, &s);
    assert_string_equal(s.role, "listener");
    assert_string_equal(s.role_peer, "");

    s = sock_row("10.0.0.6", 1062, 6, 1304); /* bound to another address */
    ms_xp_role(&c, &s);
    assert_string_equal(s.role, "listener");

    s = sock_row("0.0.0.0", 1062, 17, 1304); /* UDP: no TCP connection */
    ms_xp_role(&c, &s);
    assert_string_equal(s.role, "listener");

    s = sock_row("0.0.0.0", 445, 6, 4);
    ms_xp_role(&c, &s);
    assert_string_equal(s.role, "listener");

    s = sock_row("0.0.0.0", 3389, 6, 700);
    ms_xp_role(&c, &s);
    assert_string_equal(s.role, "listener");

    s = sock_row("0.0.0.0", 17985, 6, 1304);
    ms_xp_role(&c, &s);
    assert_string_equal(s.role, "listener");

    s = sock_row("0.0.0.0", 1062, 6, 1304);
    s.plausible = 0;
    ms_xp_role(&c, &s);
    assert_string_equal(s.role, "");
    ms_xp_conns_free(&c);
}

static void test_owners(void **state)
{
    (void)state;
    ms_xp_owner items[] = {{0, "Idle"}, {4, "System"}, {712, "lsass.exe"}, {1304, "explorer.exe"}};
    ms_xp_owners o = {items, 4};
    assert_string_equal(ms_xp_owner_name(&o, 4), "System");
    assert_string_equal(ms_xp_owner_name(&o, 1304), "explorer.exe");
    assert_string_equal(ms_xp_owner_name(&o, 0), "Idle");
    assert_null(ms_xp_owner_name(&o, 8));
    assert_null(ms_xp_owner_name(&o, 4287933200u));
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(ms_net_protocol_name(0), "HOPOPT");
    assert_string_equal(ms_net_protocol_name(1), "ICMP");
    assert_string_equal(ms_net_protocol_name(47), "GRE");
    assert_string_equal(ms_net_protocol_name(255), "Reserved");
    assert_null(ms_net_protocol_name(61));
    assert_null(ms_net_protocol_name(200));
    assert_null(ms_net_protocol_name(256));
    ms_net_endpoint e;
    memset(&e, 0, sizeof e);
    e.family = 4;
    e.protocol = 47;
    assert_string_equal(ms_net_proto_name(&e), "RAWv4");
    e.family = 6;
    e.protocol = 6;
    assert_string_equal(ms_net_proto_name(&e), "TCPv6");
    ms_net_options o;
    memset(&o, 0xAA, sizeof o);
    ms_net_options_init(&o);
    assert_int_equal(o.threads, 0);
    assert_null(o.progress);
}

static void test_kernel_pointer(void **state)
{
    (void)state;
    assert_true(ms_xp_kernel_pointer(4, 0x81839918));
    assert_false(ms_xp_kernel_pointer(4, 0x7ffe0000));
    assert_false(ms_xp_kernel_pointer(4, 0x81839919));
    assert_true(ms_xp_kernel_pointer(8, 0xfffffadfe0008000ull));
    assert_false(ms_xp_kernel_pointer(8, 0xfffffadfe0008008ull));
    assert_false(ms_xp_kernel_pointer(8, 0x00007ff7e0008000ull));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layouts),           cmocka_unit_test(test_decode_connection_x86),
        cmocka_unit_test(test_decode_socket_x64), cmocka_unit_test(test_plausibility_rules),
        cmocka_unit_test(test_roles),             cmocka_unit_test(test_owners),
        cmocka_unit_test(test_names),             cmocka_unit_test(test_kernel_pointer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
