/* The process list: EPROCESS objects in 'Proc' pool blocks linked from
 * PsActiveProcessHead, each with its own page tables. */
#include <stdio.h>
#include <string.h>

#include "ig.h"

typedef struct proc_spec {
    const char *image;      /* file name */
    const char *dir;        /* "" = no image file (System, Registry) */
    int parent;             /* index into the spec list; -1 = none; -2 = an exited parent */
    int min_threads, max_threads;
    int exited;
} proc_spec;

#define NT "\\Windows\\System32\\"

static const proc_spec win_vista_plus[] = {
    {"System", "", -1, 90, 180, 0},
    {"Registry", "", 0, 4, 4, 0},          /* Win10 1803+ only */
    {"smss.exe", NT, 0, 2, 2, 0},
    {"csrss.exe", NT, -2, 9, 13, 0},
    {"wininit.exe", NT, -2, 1, 3, 0},
    {"csrss.exe", NT, -2, 10, 15, 0},
    {"winlogon.exe", NT, -2, 3, 6, 0},
    {"services.exe", NT, 4, 6, 9, 0},
    {"lsass.exe", NT, 4, 7, 12, 0},
    {"svchost.exe", NT, 7, 10, 25, 0},
    {"svchost.exe", NT, 7, 8, 16, 0},
    {"svchost.exe", NT, 7, 15, 40, 0},
    {"svchost.exe", NT, 7, 4, 12, 0},
    {"svchost.exe", NT, 7, 3, 9, 0},
    {"spoolsv.exe", NT, 7, 7, 12, 0},
    {"explorer.exe", "\\Windows\\", -2, 30, 80, 0},
    {"MicrosoftEdgeUpdate.exe", "\\Program Files (x86)\\Microsoft\\EdgeUpdate\\", 7, 3, 6, 0},
    {"svchost.exe", NT, 7, 5, 14, 0},
    {"curl.exe", NT, 15, 0, 0, 1},
};

static const proc_spec google_update = {"GoogleUpdate.exe", "\\Program Files (x86)\\Google\\Update\\", 7, 3, 6, 0};

static const proc_spec win_xp[] = {
    {"System", "", -1, 50, 70, 0},
    {"smss.exe", "\\WINDOWS\\system32\\", 0, 3, 3, 0},
    {"csrss.exe", "\\WINDOWS\\system32\\", 1, 10, 14, 0},
    {"winlogon.exe", "\\WINDOWS\\system32\\", 1, 18, 22, 0},
    {"services.exe", "\\WINDOWS\\system32\\", 3, 15, 18, 0},
    {"lsass.exe", "\\WINDOWS\\system32\\", 3, 18, 22, 0},
    {"svchost.exe", "\\WINDOWS\\system32\\", 4, 16, 20, 0},
    {"svchost.exe", "\\WINDOWS\\system32\\", 4, 9, 11, 0},
    {"svchost.exe", "\\WINDOWS\\system32\\", 4, 50, 70, 0},
    {"svchost.exe", "\\WINDOWS\\system32\\", 4, 5, 7, 0},
    {"spoolsv.exe", "\\WINDOWS\\system32\\", 4, 10, 13, 0},
    {"explorer.exe", "\\WINDOWS\\", -2, 12, 20, 0},
    {"GoogleUpdateSetup.exe", "\\Program Files\\Google\\Update\\", 11, 3, 5, 0},
    {"ping.exe", "\\WINDOWS\\system32\\", 11, 0, 0, 1},
};

static ig_status write_name_info(ig_ctx *c, ig_proc_truth *p, const char *path, int paged_out, uint64_t *out)
{
    size_t us = c->ptr == 8 ? 16 : 8;
    size_t sz = us + (strlen(path) + 1) * 2;
    uint64_t body;
    if (paged_out) {
        /* its own paged-pool page, later written out to the pagefile */
        uint64_t page;
        if (ig_kva_alloc(c, IG_VA_PPOOL, IG_PAGE, &page) != IG_OK)
            return IG_ERR;
        body = page + 0x40 + ig_pool_header_size(c);
    } else if (ig_pool_alloc(c, IG_POOL_PAGED, "SePa", sz, &body, NULL) != IG_OK) {
        return IG_ERR;
    }
    if (ig_unicode_at(c, body, body + us, path) != IG_OK)
        return IG_ERR;
    if (paged_out) {
        if (ig_pte_make_pagefile(c, body, 0, ig_rng_range(&c->rng, 0x100, 0x3FFFF)) != IG_OK)
            return IG_ERR;
        p->full_name[0] = '\0';
    } else {
        snprintf(p->full_name, sizeof p->full_name, "%s", path);
    }
    *out = body;
    return IG_OK;
}

static ig_status user_space(ig_ctx *c, ig_proc_truth *p)
{
    uint64_t peb;
    if (c->ptr == 8)
        peb = c->t->build >= 9600 ? (ig_rng_range(&c->rng, 0x10, 0xFF) << 32) | (ig_rng_range(&c->rng, 0x100, 0xFFFF) << 12)
                                   : 0x7FFFFFD0000ull + ig_rng_range(&c->rng, 0, 0xF) * IG_PAGE;
    else
        peb = 0x7FFD0000ull + ig_rng_range(&c->rng, 0, 0xF) * IG_PAGE;
    uint64_t pa;
    if (ig_frame_alloc(c, &pa) != IG_OK || ig_map_in(c, p->root_pa, peb, pa, IG_MAP_USER | IG_MAP_NX) != IG_OK)
        return IG_ERR;
    c->nodump[pa / IG_PAGE / 8] |= (uint8_t)(1u << (pa / IG_PAGE % 8));
    uint8_t b[0x130];
    memset(b, 0, sizeof b);
    uint32_t v[3] = {c->t->major, c->t->minor, c->t->build};
    uint64_t image_base = c->ptr == 8 ? 0x00007FF600000000ull + (ig_rng_range(&c->rng, 0, 0xFFFF) << 16) : 0x01000000ull;
    if (c->ptr == 8) {
        memcpy(b + 0x10, &image_base, 8);
        memcpy(b + 0x118, v, 12);
    } else {
        uint32_t ib = (uint32_t)image_base;
        memcpy(b + 0x8, &ib, 4);
        memcpy(b + 0xA4, v, 12);
    }
    if (ig_phys_write(c, pa, b, sizeof b) != IG_OK)
        return IG_ERR;
    p->peb = peb;

    /* The image header page: an image-backed (prototype) PTE whose
     * prototype lives in the section's segment ('MmSt', paged pool). */
    uint64_t img_pa, seg;
    if (ig_frame_alloc(c, &img_pa) != IG_OK || ig_map_in(c, p->root_pa, image_base, img_pa, IG_MAP_USER) != IG_OK ||
        ig_pool_alloc(c, IG_POOL_PAGED, "MmSt", 0x30 + 8 * 4, &seg, NULL) != IG_OK)
        return IG_ERR;
    c->nodump[img_pa / IG_PAGE / 8] |= (uint8_t)(1u << (img_pa / IG_PAGE % 8));
    if (ig_phys_write(c, img_pa, "MZ\x90\0", 4) != IG_OK)
        return IG_ERR;
    uint64_t proto = seg + 0x30, hw = img_pa | 0x121; /* valid, accessed, user */
    if (ig_write(c, proto, &hw, c->mode == IG_MODE_X86 ? 4 : 8) != IG_OK ||
        ig_pte_make_prototype_in(c, p->root_pa, image_base, proto) != IG_OK)
        return IG_ERR;
    return IG_OK;
}

/* A pid just below `pid` that no listed process has: the smss/userinit
 * instance that started it and exited. */
static uint32_t gone_parent(const ig_ctx *c, uint32_t pid)
{
    for (uint32_t cand = pid - 4 * (uint32_t)(1 + (pid / 4) % 3); cand > 8; cand -= 4) {
        int used = 0;
        for (int i = 0; i < c->nprocs; i++)
            used |= c->procs[i].pid == cand;
        if (!used)
            return cand;
    }
    return pid + 4;
}

static uint32_t header_size_value(ig_ctx *c, long kproc_size)
{
    uint64_t v;
    if (c->prof && ig_prof_const(c->prof, "KPROCESS_HEADER_SIZE", &v))
        return (uint32_t)v;
    /* DISPATCHER_HEADER.Size is a byte: 19041's KPROCESS (0x438) no longer
     * fits and its processes carry 0 there (Volatility 2's signatures) */
    return kproc_size > 0 && kproc_size / 4 <= 0xFF ? (uint32_t)(kproc_size / 4) : 0;
}

ig_status ig_processes_build(ig_ctx *c)
{
    const ig_target *t = c->t;
    const proc_spec *specs = t->build < 6000 ? win_xp : win_vista_plus;
    size_t nspec = t->build < 6000 ? sizeof win_xp / sizeof *win_xp : sizeof win_vista_plus / sizeof *win_vista_plus;
    const char *E = "_EPROCESS";
    long o_pid = ig_need(c, E, "UniqueProcessId"), o_links = ig_need(c, E, "ActiveProcessLinks");
    long o_name = ig_need(c, E, "ImageFileName"), o_dtb = ig_need(c, E, "Pcb.DirectoryTableBase");
    long esize = c->prof ? ig_prof_struct_size(c->prof, E) : -1;
    if (o_pid < 0 || o_links < 0 || o_name < 0 || o_dtb < 0)
        return IG_ERR;
    if (esize <= 0)
        return ig_fail("profile %s has no size for _EPROCESS", t->kernel_profile);
    long kproc_size = ig_prof_struct_size(c->prof, "_KPROCESS");
    long o_type = ig_off(c, E, "Pcb.Header.Type"), o_hsize = ig_off(c, E, "Pcb.Header.Size");
    long o_ppid = ig_off(c, E, "InheritedFromUniqueProcessId");
    long o_ct = ig_off(c, E, "CreateTime"), o_et = ig_off(c, E, "ExitTime");
    long o_es = ig_off(c, E, "ExitStatus"), o_at = ig_off(c, E, "ActiveThreads");
    long o_peb = ig_off(c, E, "Peb"), o_ot = ig_off(c, E, "ObjectTable"), o_tok = ig_off(c, E, "Token");
    long o_audit = ig_off(c, E, "SeAuditProcessCreationInfo");
    long o_ktl = ig_off(c, E, "Pcb.ThreadListHead"), o_tl = ig_off(c, E, "ThreadListHead");
    if (o_type < 0)
        o_type = 0;
    if (o_hsize < 0)
        o_hsize = 2;
    uint32_t hsize = header_size_value(c, kproc_size);

    if (t->old_pool) {
        /* the process OBJECT_TYPE the object headers point at */
        uint64_t ot;
        if (ig_pool_alloc(c, IG_POOL_NONPAGED, "ObjT", c->ptr == 8 ? 0x2D0 : 0x190, &ot, NULL) != IG_OK)
            return IG_ERR;
        c->process_type = ot + (c->ptr == 8 ? 0x30 : 0x18);
        if (ig_wstr(c, ot + 0x100, "Process") != IG_OK)
            return IG_ERR;
    }
    uint64_t pst = ig_kernel_symbol(c, "PsProcessType", 8);
    if (!pst || ig_wptr(c, pst, c->process_type) != IG_OK)
        return IG_ERR;

    uint32_t pid = t->build < 6000 ? 0x170 : 0x1A0;
    uint64_t when = c->boot_time;
    int idx_of_spec[64];
    int paged_name_done = 0, absent_done = 0, transition_done = 0;
    for (size_t i = 0; i < nspec && c->nprocs < IG_MAX_PROCS; i++) {
        const proc_spec *s = &specs[i];
        if (strcmp(s->image, "Registry") == 0 && t->build < 17134)
            continue;
        if (strcmp(s->image, "MicrosoftEdgeUpdate.exe") == 0 && t->build < 10240)
            s = &google_update;
        idx_of_spec[i] = c->nprocs;
        ig_proc_truth *p = &c->procs[c->nprocs++];
        memset(p, 0, sizeof *p);
        int is_system = i == 0;
        if (is_system) {
            p->pid = 4;
        } else if (strcmp(s->image, "Registry") == 0) {
            p->pid = (uint32_t)ig_rng_range(&c->rng, 0x16, 0x20) * 4; /* created right after System */
        } else {
            pid += (uint32_t)ig_rng_range(&c->rng, 1, 60) * 4;
            p->pid = pid;
        }
        if (s->parent == -1)
            p->ppid = 0;
        else if (s->parent == -2)
            p->ppid = gone_parent(c, p->pid);
        else
            p->ppid = c->procs[idx_of_spec[s->parent]].pid;
        snprintf(p->name, sizeof p->name, "%.15s", s->image);
        p->threads = s->exited ? 0 : (uint32_t)ig_rng_range(&c->rng, (uint64_t)s->min_threads, (uint64_t)s->max_threads);
        if (is_system) {
            p->create_time = t->build < 6000 ? 0 : c->boot_time; /* XP's System has none */
        } else {
            when += ig_rng_range(&c->rng, 2000000, i < 10 ? 30000000 : 3000000000ull);
            p->create_time = when;
        }
        if (s->exited) {
            p->create_time = c->system_time - ig_rng_range(&c->rng, 600000000, 1200000000);
            p->exit_time = c->system_time - ig_rng_range(&c->rng, 10000000, 500000000);
        }

        /* one svchost's EPROCESS is left out of bitmap dumps: alone in its page */
        int drop = !absent_done && strcmp(s->image, "svchost.exe") == 0 && i > 8 && i < nspec - 3;
        uint64_t ep;
        if ((drop && ig_pool_flush(c) != IG_OK) ||
            ig_pool_noise(c, IG_POOL_NONPAGED, (int)ig_rng_range(&c->rng, 0, 2)) != IG_OK ||
            ig_object_alloc(c, "Proc", 7, c->process_type, (size_t)esize, &ep) != IG_OK ||
            (drop && ig_pool_flush(c) != IG_OK))
            return IG_ERR;
        p->eprocess = ep;
        if (ig_v2p(c, ep, &p->eprocess_pa) != IG_OK)
            return IG_ERR;
        if (is_system) {
            p->dtb = c->dtb;
            p->root_pa = c->mode == IG_MODE_PAE ? c->dtb : c->root_pa;
        } else if (ig_paging_new_process(c, p) != IG_OK) {
            return IG_ERR;
        }
        int st = IG_OK;
        st |= ig_w8(c, ep + (uint64_t)o_type, 3);
        st |= ig_w8(c, ep + (uint64_t)o_hsize, (uint8_t)hsize);
        st |= ig_wptr(c, ep + (uint64_t)o_dtb, p->dtb);
        if (o_ktl >= 0)
            st |= ig_list_init(c, ep + (uint64_t)o_ktl);
        if (o_tl >= 0)
            st |= ig_list_init(c, ep + (uint64_t)o_tl);
        st |= ig_wptr(c, ep + (uint64_t)o_pid, p->pid);
        if (o_ppid >= 0)
            st |= ig_wptr(c, ep + (uint64_t)o_ppid, p->ppid);
        char namebuf[16] = {0};
        memcpy(namebuf, p->name, strlen(p->name));
        st |= ig_write(c, ep + (uint64_t)o_name, namebuf, 15);
        if (o_ct >= 0)
            st |= ig_w64(c, ep + (uint64_t)o_ct, p->create_time);
        if (o_et >= 0)
            st |= ig_w64(c, ep + (uint64_t)o_et, p->exit_time);
        if (o_es >= 0)
            st |= ig_w32(c, ep + (uint64_t)o_es, s->exited ? 0 : 0x103);
        if (o_at >= 0)
            st |= ig_w32(c, ep + (uint64_t)o_at, p->threads);
        if (st != IG_OK)
            return IG_ERR;
        if (!is_system && strcmp(s->image, "Registry") != 0) {
            if (user_space(c, p) != IG_OK)
                return IG_ERR;
            if (o_peb >= 0 && ig_wptr(c, ep + (uint64_t)o_peb, p->peb) != IG_OK)
                return IG_ERR;
        }
        if (o_ot >= 0 && !s->exited) {
            uint64_t tab;
            if (ig_pool_alloc(c, IG_POOL_PAGED, "Obtb", c->ptr == 8 ? 0x80 : 0x44, &tab, NULL) != IG_OK ||
                ig_wptr(c, ep + (uint64_t)o_ot, tab) != IG_OK)
                return IG_ERR;
        }
        if (o_tok >= 0) {
            uint64_t tok;
            if (ig_pool_alloc(c, IG_POOL_PAGED, "Toke", c->ptr == 8 ? 0x4A0 : 0x2A0, &tok, NULL) != IG_OK ||
                ig_wptr(c, ep + (uint64_t)o_tok, tok | (c->ptr == 8 ? 0xA : 0x6)) != IG_OK)
                return IG_ERR;
        }
        if (o_audit >= 0 && s->dir[0]) {
            char path[160];
            snprintf(path, sizeof path, "\\Device\\HarddiskVolume%d%s%s", t->build < 6000 ? 1 : 2, s->dir, s->image);
            int paged = !paged_name_done && strcmp(s->image, "svchost.exe") == 0 && p->ppid != 0 && i > 10;
            uint64_t ni;
            if (write_name_info(c, p, path, paged, &ni) != IG_OK ||
                ig_wptr(c, ep + (uint64_t)o_audit, ni) != IG_OK)
                return IG_ERR;
            paged_name_done |= paged;
        }
        if (ig_list_append(c, c->ps_active_head, ep + (uint64_t)o_links) != IG_OK)
            return IG_ERR;
        if (drop) {
            p->absent = 1;
            absent_done = 1;
        } else if (!transition_done && strcmp(s->image, "spoolsv.exe") == 0) {
            transition_done = 1;
            p->absent = -1; /* marker: page goes to transition after all writes */
        }
        if (is_system) {
            uint64_t isp = ig_kernel_symbol(c, "PsInitialSystemProcess", 8);
            if (!isp || ig_wptr(c, isp, ep) != IG_OK)
                return IG_ERR;
        }
    }
    return IG_OK;
}

/* After every write: a transition PTE under one EPROCESS, and the pages of
 * one EPROCESS left out of bitmap dumps. */
ig_status ig_processes_finish(ig_ctx *c)
{
    for (int i = 0; i < c->nprocs; i++) {
        ig_proc_truth *p = &c->procs[i];
        if (p->absent == -1) {
            p->absent = 0;
            if (ig_pte_make_transition(c, p->eprocess) != IG_OK)
                continue; /* on a large page: stays valid */
        } else if (p->absent == 1) {
            uint64_t pfn = p->eprocess_pa / IG_PAGE;
            c->nodump[pfn / 8] |= (uint8_t)(1u << (pfn % 8));
        }
    }
    return IG_OK;
}
