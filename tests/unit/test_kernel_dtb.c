/* DTB candidates: the self-map tests for each paging mode, the x64 low
 * stub and the System KPROCESS signature, on hand-built pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kernel/dtb_process.h"
#include "kernel/dtb_scan.h"
#include "memsift/image.h"

static void put64(uint8_t *p, unsigned index, uint64_t v) { memcpy(p + 8 * index, &v, 8); }
static void put32(uint8_t *p, unsigned index, uint32_t v) { memcpy(p + 4 * index, &v, 4); }

#define MAX_PA (64ull << 20)

static void x64_pml4_needs_one_kernel_self_reference(void **state)
{
    (void)state;
    uint8_t page[4096] = {0};
    uint64_t pa = 0x1aa000;
    put64(page, 0x1ed, pa | 0x63);            /* self-map at the pre-1607 index */
    put64(page, 0x1f0, 0x200000 | 0x63);      /* two more kernel tables */
    put64(page, 0x1ff, 0x201000 | 0x63);
    assert_true(ms_dtb_is_x64_pml4(page, pa, MAX_PA));
    put64(page, 0x1ed, 0);
    put64(page, 0x123, pa | 0x63);            /* randomised index (Windows 10 1607+) */
    assert_true(ms_dtb_is_x64_pml4(page, pa, MAX_PA));

    uint8_t bad[4096];
    memcpy(bad, page, sizeof bad);
    put64(bad, 0x0ff, pa | 0x63);             /* a self-reference in the user half */
    assert_false(ms_dtb_is_x64_pml4(bad, pa, MAX_PA));
    memcpy(bad, page, sizeof bad);
    put64(bad, 0x1f0, 0x200000 | 0xe3);       /* PML4 entries cannot be large pages */
    assert_false(ms_dtb_is_x64_pml4(bad, pa, MAX_PA));
    memcpy(bad, page, sizeof bad);
    put64(bad, 0x1ff, (MAX_PA + 0x1000) | 0x63); /* a table outside the image */
    assert_false(ms_dtb_is_x64_pml4(bad, pa, MAX_PA));
    memcpy(bad, page, sizeof bad);
    put64(bad, 0x100, pa | 0x63);             /* two self-references */
    assert_false(ms_dtb_is_x64_pml4(bad, pa, MAX_PA));
    assert_false(ms_dtb_is_x64_pml4(page, pa + 0x1000, MAX_PA)); /* names another page */
}

static void x86_page_directory_maps_itself_at_0x300(void **state)
{
    (void)state;
    uint8_t page[4096] = {0};
    uint32_t pa = 0x39000;
    put32(page, 0x300, pa | 0x63);
    put32(page, 0x200, 0x000001e3);           /* the kernel's 4 MiB page at 0x80000000 */
    put32(page, 0x201, 0x00400000 | 0xe3);
    put32(page, 0x3fe, 0x00050000 | 0x63);
    assert_true(ms_dtb_is_x86_pd(page, pa, MAX_PA));
    put32(page, 0x3fe, 0);
    assert_false(ms_dtb_is_x86_pd(page, pa, MAX_PA)); /* too few kernel entries */
    put32(page, 0x3fe, 0x00050000 | 0x63);
    put32(page, 0x300, 0x3a000 | 0x63);
    assert_false(ms_dtb_is_x86_pd(page, pa, MAX_PA));
}

static void low_stub_gives_the_cr3(void **state)
{
    (void)state;
    uint8_t page[4096] = {0};
    uint64_t dtb = 0;
    put64(page, 0, 0x00000001000600e9ull);
    put64(page, 0x70 / 8, 0xfffff80312345670ull);
    put64(page, 0xa0 / 8, 0x1ad000);
    assert_true(ms_dtb_from_low_stub(page, &dtb));
    assert_int_equal(dtb, 0x1ad000);
    put64(page, 0xa0 / 8, 0x1ad001);              /* CR3 flag bits are not a DTB */
    assert_false(ms_dtb_from_low_stub(page, &dtb));
    put64(page, 0xa0 / 8, 0x1ad000);
    put64(page, 0x70 / 8, 0x0000000012345670ull); /* entry point not in the kernel */
    assert_false(ms_dtb_from_low_stub(page, &dtb));
}

/* A raw image file of `pages` pages, returned open. */
static ms_image *image_of(const uint8_t *data, size_t len, char *path)
{
    strcpy(path, "/tmp/ms-dtb-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    ms_image *img = NULL;
    assert_int_equal(ms_image_open(path, NULL, &img), MS_OK);
    return img;
}

static void pae_pdpt_needs_the_c0000000_self_map(void **state)
{
    (void)state;
    size_t len = 8 * 4096;
    uint8_t *mem = calloc(1, len);
    /* PDPT at 0x1000 (slot 0x20), page directories at 0x2000..0x5000. */
    uint8_t *pdpt = mem + 0x1000;
    for (unsigned i = 0; i < 4; i++)
        put64(pdpt + 0x20, i, (0x2000ull + 0x1000 * i) | 1);
    uint8_t *pd3 = mem + 0x5000;
    for (unsigned i = 0; i < 4; i++)
        put64(pd3, i, (0x2000ull + 0x1000 * i) | 0x63);
    char path[32];
    ms_image *img = image_of(mem, len, path);
    assert_true(ms_dtb_is_pae_pdpt(img, pdpt, 0x1000, 0x20, len));
    assert_false(ms_dtb_is_pae_pdpt(img, pdpt, 0x1000, 0x00, len)); /* empty slot */
    ms_image_close(img);
    unlink(path);

    put64(pd3, 2, 0x9000 | 0x63); /* the self-map names the wrong directory */
    img = image_of(mem, len, path);
    assert_false(ms_dtb_is_pae_pdpt(img, pdpt, 0x1000, 0x20, len));
    ms_image_close(img);
    unlink(path);
    free(mem);
}

static void system_kprocess_gives_its_dtb(void **state)
{
    (void)state;
    size_t len = 4 * 4096;
    uint8_t *mem = calloc(1, len);
    /* An x64 EPROCESS at 0x1040 with the 19041 shape: Header.Size 0, name at 0x5a8. */
    uint8_t *ep = mem + 0x1040;
    ep[0] = 3;
    put64(ep, 0x28 / 8, 0x1ad000);
    memcpy(ep + 0x5a8, "System", 7);
    char path[32];
    ms_image *img = image_of(mem, len, path);
    ms_process_sig sigs[] = {{4, 0x2c, 0x17c}, {8, 0x00, 0x5a8}};
    uint64_t dtb = 0;
    unsigned ptr = 0;
    assert_true(ms_dtb_from_process_page(img, mem + 0x1000, 0x1000, sigs, 2, &dtb, &ptr));
    assert_int_equal(dtb, 0x1ad000);
    assert_int_equal(ptr, 8);

    ms_image_close(img);
    unlink(path);

    /* Another process's name, or a header of another object type, is no match. */
    memcpy(ep + 0x5a8, "smss.exe", 9);
    img = image_of(mem, len, path);
    assert_false(ms_dtb_from_process_page(img, mem + 0x1000, 0x1000, sigs, 2, &dtb, &ptr));
    ms_image_close(img);
    unlink(path);
    memcpy(ep + 0x5a8, "System", 7);
    ep[0] = 6;
    img = image_of(mem, len, path);
    assert_false(ms_dtb_from_process_page(img, mem + 0x1000, 0x1000, sigs, 2, &dtb, &ptr));
    ms_image_close(img);
    unlink(path);
    free(mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(x64_pml4_needs_one_kernel_self_reference),
        cmocka_unit_test(x86_page_directory_maps_itself_at_0x300),
        cmocka_unit_test(low_stub_gives_the_cr3),
        cmocka_unit_test(pae_pdpt_needs_the_c0000000_self_map),
        cmocka_unit_test(system_kprocess_gives_its_dtb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
