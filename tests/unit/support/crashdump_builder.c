#include "support/crashdump_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE 0x1000u

void cdb_put32(uint8_t *buf, size_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        buf[off + i] = (uint8_t)(v >> (8 * i));
}

void cdb_put64(uint8_t *buf, size_t off, uint64_t v)
{
    cdb_put32(buf, off, (uint32_t)v);
    cdb_put32(buf, off + 4, (uint32_t)(v >> 32));
}

uint8_t cdb_page_byte(uint64_t paddr)
{
    uint64_t pfn = paddr >> 12;
    return (uint8_t)(pfn * 37 + (paddr & 0xfff) * 7 + (paddr >> 9));
}

size_t cdb_header_size(int is_64bit)
{
    return is_64bit ? 0x2000 : 0x1000;
}

void cdb_spec_init(cdb_spec *s, int is_64bit, uint32_t dump_type)
{
    memset(s, 0, sizeof *s);
    s->is_64bit = is_64bit;
    s->dump_type = dump_type;
    s->major_version = 0xf;
    s->num_processors = 2;
    s->bugcheck_code = 0xe2;   /* MANUALLY_INITIATED_CRASH */
    s->bugcheck_params[0] = 0x11;
    s->bugcheck_params[3] = 0x44;
    s->system_time = 0x01d707f23dbb3399ull;
    s->system_uptime = 0x23bc1e9ull;
    s->product_type = 1;
    s->suite_mask = 0x110;
    s->bitmap_signature = CDB_SDMP;
    if (is_64bit) {
        s->build = 19041;
        s->machine_type = 0x8664;
        s->dtb = 0x1ad000;
        s->pfn_database = 0xfffffa8000000000ull;
        s->ps_loaded_module_list = 0xfffff8047c62a390ull;
        s->ps_active_process_head = 0xfffff8047c61e200ull;
        s->kdbg = 0xfffff8047c600b20ull;
    } else {
        s->build = 2600;
        s->machine_type = 0x14c;
        s->dtb = 0x39000;
        s->pfn_database = 0x80c00000u;
        s->ps_loaded_module_list = 0x8055a420u;
        s->ps_active_process_head = 0x80560bd8u;
        s->kdbg = 0x80545ae0u;
        s->pae_enabled = 1;
    }
}

static void fill_page_pattern(uint8_t *buf, size_t len)
{
    for (size_t i = 0; i + 4 <= len; i += 4)
        memcpy(buf + i, "PAGE", 4);
}

static void write_header32(const cdb_spec *s, uint8_t *h)
{
    memcpy(h, "PAGEDUMP", 8);
    cdb_put32(h, 0x08, s->major_version);
    cdb_put32(h, 0x0c, s->build);
    cdb_put32(h, 0x10, (uint32_t)s->dtb);
    cdb_put32(h, 0x14, (uint32_t)s->pfn_database);
    cdb_put32(h, 0x18, (uint32_t)s->ps_loaded_module_list);
    cdb_put32(h, 0x1c, (uint32_t)s->ps_active_process_head);
    cdb_put32(h, 0x20, s->machine_type);
    cdb_put32(h, 0x24, s->num_processors);
    cdb_put32(h, 0x28, s->bugcheck_code);
    for (int i = 0; i < 4; i++)
        cdb_put32(h, 0x2c + 4 * i, (uint32_t)s->bugcheck_params[i]);
    h[0x5c] = (uint8_t)s->pae_enabled;
    h[0x5d] = 0x41;
    cdb_put32(h, 0x60, (uint32_t)s->kdbg);
    if (s->comment != NULL) {
        memset(h + 0x820, 0, 128);
        memcpy(h + 0x820, s->comment, strnlen(s->comment, 128));
    }
    if (s->attributes_set)
        cdb_put32(h, 0x8a0, s->attributes);
    cdb_put32(h, 0xf88, s->dump_type);
    cdb_put32(h, 0xf94, s->product_type);
    cdb_put32(h, 0xf98, s->suite_mask);
    cdb_put64(h, 0xfb8, s->system_uptime);
    cdb_put64(h, 0xfc0, s->system_time);
}

static void write_header64(const cdb_spec *s, uint8_t *h)
{
    memcpy(h, "PAGEDU64", 8);
    cdb_put32(h, 0x08, s->major_version);
    cdb_put32(h, 0x0c, s->build);
    cdb_put64(h, 0x10, s->dtb);
    cdb_put64(h, 0x18, s->pfn_database);
    cdb_put64(h, 0x20, s->ps_loaded_module_list);
    cdb_put64(h, 0x28, s->ps_active_process_head);
    cdb_put32(h, 0x30, s->machine_type);
    cdb_put32(h, 0x34, s->num_processors);
    cdb_put32(h, 0x38, s->bugcheck_code);
    for (int i = 0; i < 4; i++)
        cdb_put64(h, 0x40 + 8 * i, s->bugcheck_params[i]);
    cdb_put64(h, 0x80, s->kdbg);
    cdb_put32(h, 0xf98, s->dump_type);
    cdb_put64(h, 0xfa8, s->system_time);
    if (s->comment != NULL) {
        memset(h + 0xfb0, 0, 128);
        memcpy(h + 0xfb0, s->comment, strnlen(s->comment, 128));
    }
    cdb_put64(h, 0x1030, s->system_uptime);
    cdb_put32(h, 0x1040, s->product_type);
    cdb_put32(h, 0x1044, s->suite_mask);
    if (s->attributes_set)
        cdb_put32(h, 0x1050, s->attributes);
}

static void write_run_list(const cdb_spec *s, uint8_t *h)
{
    uint64_t total = 0;
    for (size_t i = 0; i < s->run_count; i++)
        total += s->runs[i].page_count;
    if (s->is_64bit) {
        cdb_put32(h, 0x88, (uint32_t)s->run_count);
        cdb_put32(h, 0x8c, 0);
        cdb_put64(h, 0x90, total);
        for (size_t i = 0; i < s->run_count && i < 42; i++) {
            cdb_put64(h, 0x98 + 16 * i, s->runs[i].base_page);
            cdb_put64(h, 0xa0 + 16 * i, s->runs[i].page_count);
        }
    } else {
        cdb_put32(h, 0x64, (uint32_t)s->run_count);
        cdb_put32(h, 0x68, (uint32_t)total);
        for (size_t i = 0; i < s->run_count && i < 86; i++) {
            cdb_put32(h, 0x6c + 8 * i, (uint32_t)s->runs[i].base_page);
            cdb_put32(h, 0x70 + 8 * i, (uint32_t)s->runs[i].page_count);
        }
    }
}

static int is_bitmap_type(uint32_t t)
{
    return t == 2 || t == 5 || t == 6;
}

static int legacy_layout(const cdb_spec *s)
{
    return s->dump_type == 2 && s->summary_layout == CDB_SUMMARY_LEGACY;
}

/* Offset of the bits, relative to the bitmap header. */
static size_t bits_rel(const cdb_spec *s)
{
    if (legacy_layout(s))
        return s->is_64bit ? 0x28 : 0x20;
    return 0x38;
}

size_t cdb_bitmap_header_size_offset(const cdb_spec *s)
{
    return cdb_header_size(s->is_64bit) + (legacy_layout(s) ? 0x0c : 0x20);
}

int cdb_build(const cdb_spec *s, uint8_t **out, size_t *out_len)
{
    size_t hsize = cdb_header_size(s->is_64bit);
    uint64_t pages = 0, max_page = 0;
    for (size_t i = 0; i < s->run_count; i++) {
        pages += s->runs[i].page_count;
        max_page = s->runs[i].base_page + s->runs[i].page_count;
    }
    uint64_t bits = s->bitmap_bits ? s->bitmap_bits : max_page;
    size_t first_page = hsize;
    if (is_bitmap_type(s->dump_type)) {
        if (bits < max_page)
            return -1;
        first_page = (hsize + bits_rel(s) + (bits + 7) / 8 + PAGE - 1) / PAGE * PAGE;
    } else if (s->dump_type != 1) {
        pages = 0;   /* triage and header-only dumps: a page of filler */
        first_page = hsize + PAGE;
    }
    size_t len = first_page + pages * PAGE;
    uint8_t *buf = calloc(1, len);
    if (buf == NULL)
        return -1;
    fill_page_pattern(buf, hsize);
    if (s->is_64bit)
        write_header64(s, buf);
    else
        write_header32(s, buf);

    if (s->dump_type == 1) {
        write_run_list(s, buf);
    } else if (is_bitmap_type(s->dump_type)) {
        uint8_t *b = buf + hsize;
        cdb_put32(b, 0, s->bitmap_signature);
        memcpy(b + 4, "DUMP", 4);
        if (legacy_layout(s)) {
            cdb_put32(b, 0x0c, (uint32_t)first_page);
            cdb_put32(b, 0x10, (uint32_t)bits);
            cdb_put32(b, 0x14, (uint32_t)pages);
            cdb_put32(b, 0x18, (uint32_t)bits);
        } else {
            cdb_put64(b, 0x20, first_page);
            cdb_put64(b, 0x28, pages);
            cdb_put64(b, 0x30, bits);
        }
        uint8_t *bitmap = b + bits_rel(s);
        for (size_t i = 0; i < s->run_count; i++)
            for (uint64_t p = s->runs[i].base_page; p < s->runs[i].base_page + s->runs[i].page_count; p++)
                bitmap[p / 8] |= (uint8_t)(1u << (p % 8));
    } else {
        fill_page_pattern(buf + hsize, PAGE);
    }

    if (s->dump_type == 1 || is_bitmap_type(s->dump_type)) {
        uint8_t *p = buf + first_page;
        for (size_t i = 0; i < s->run_count; i++) {
            for (uint64_t pg = 0; pg < s->runs[i].page_count; pg++) {
                uint64_t paddr = (s->runs[i].base_page + pg) * PAGE;
                for (size_t k = 0; k < PAGE; k++)
                    p[k] = cdb_page_byte(paddr + k);
                p += PAGE;
            }
        }
    }
    *out = buf;
    *out_len = len;
    return 0;
}

int cdb_write_temp(const uint8_t *buf, size_t len, char *path, size_t cap)
{
    const char *dir = getenv("MEMSIFT_TEST_TMP");
    if (dir == NULL || dir[0] == '\0')
        dir = "/tmp";
    if ((size_t)snprintf(path, cap, "%s/cdb-XXXXXX", dir) >= cap)
        return -1;
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n <= 0) {
            close(fd);
            unlink(path);
            return -1;
        }
        done += (size_t)n;
    }
    close(fd);
    return 0;
}
