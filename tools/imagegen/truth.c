/* PATH.truth.json: what a perfect tool reports for the image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "damage.h"
#include "ig.h"

ig_status ig_truth_add_connection(ig_ctx *c, const char *json_object)
{
    if (c->nconns >= IG_MAX_CONNS)
        return ig_fail("too many connections");
    c->conns[c->nconns] = strdup(json_object);
    if (c->conns[c->nconns] == NULL)
        return ig_fail("out of memory");
    c->nconns++;
    return IG_OK;
}

static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static void jtime(FILE *f, uint64_t ft)
{
    if (ft == 0) {
        fputs("null", f);
        return;
    }
    char iso[32];
    ig_filetime_iso(ft, iso);
    jstr(f, iso);
}

static void jpdb(FILE *f, const char *name, const char *guid, uint32_t age)
{
    fputs("{\"name\": ", f);
    jstr(f, name);
    fputs(", \"guid\": ", f);
    jstr(f, guid);
    fprintf(f, ", \"age\": %u}", age);
}

ig_status ig_truth_write(ig_ctx *c, const char *path, const char *format, int dump_type, int compressed,
                         uint64_t file_size)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return ig_fail("cannot create %s", path);
    const ig_target *t = c->t;
    int bitmap = dump_type == 2 || dump_type == 5 || dump_type == 6;
    fputs("{\n  \"generator\": \"ms-imagegen 1\",\n", f);
    fprintf(f, "  \"seed\": %llu,\n", (unsigned long long)c->seed);
    fputs("  \"profile\": ", f);
    jstr(f, t->name);
    fputs(",\n  \"kernel_profile\": ", f);
    jstr(f, t->kernel_profile);
    fprintf(f, ",\n  \"build\": %u,\n", t->build);
    fprintf(f, "  \"arch\": \"%s\",\n", t->mode == IG_MODE_X64 ? "x64" : "x86");
    fprintf(f, "  \"paging\": \"%s\",\n", t->mode == IG_MODE_X64 ? "x64" : t->mode == IG_MODE_PAE ? "pae" : "x86");
    fputs("  \"format\": ", f);
    jstr(f, format);
    fprintf(f, ",\n  \"dump_type\": %d,\n", dump_type);
    fprintf(f, "  \"compressed\": %s,\n", compressed ? "true" : "false");
    fprintf(f, "  \"size\": %llu,\n", (unsigned long long)c->size);
    fprintf(f, "  \"file_size\": %llu,\n", (unsigned long long)file_size);
    fprintf(f, "  \"dtb\": %llu,\n", (unsigned long long)c->dtb);
    fprintf(f, "  \"kernel_base\": %llu,\n", (unsigned long long)c->kbase);
    fputs("  \"kernel_pdb\": ", f);
    jpdb(f, c->kpdb_name, c->kguid, c->kage);
    fprintf(f, ",\n  \"kdbg\": %llu,\n", (unsigned long long)c->kdbg);
    fprintf(f, "  \"kdbg_encoded\": %s,\n", t->kdbg_encoded ? "true" : "false");
    fprintf(f, "  \"kd_version_block\": %llu,\n", (unsigned long long)c->kd_version_block);
    fprintf(f, "  \"ps_active_process_head\": %llu,\n", (unsigned long long)c->ps_active_head);
    fprintf(f, "  \"ps_loaded_module_list\": %llu,\n", (unsigned long long)c->ps_loaded_list);
    fprintf(f, "  \"pte_base\": %llu,\n", (unsigned long long)c->pte_base);
    fputs("  \"system_time\": ", f);
    jtime(f, c->system_time);
    fprintf(f, ",\n  \"processors\": %u,\n", c->processors);
    ig_damage_truth(c, f, dump_type);
    fputs("  \"processes\": [", f);
    for (int i = 0; i < c->nprocs; i++) {
        const ig_proc_truth *p = &c->procs[i];
        fputs(i ? ",\n    {" : "\n    {", f);
        fprintf(f, "\"pid\": %u, \"ppid\": %u, \"name\": ", p->pid, p->ppid);
        jstr(f, p->name);
        fputs(", \"full_name\": ", f);
        if (p->full_name[0])
            jstr(f, p->full_name);
        else
            fputs("null", f);
        fprintf(f, ", \"offset\": %llu, \"offset_phys\": %llu, \"threads\": %u, \"create_time\": ",
                (unsigned long long)p->eprocess, (unsigned long long)p->eprocess_pa, p->threads);
        jtime(f, p->create_time);
        fputs(", \"exit_time\": ", f);
        jtime(f, p->exit_time);
        fprintf(f, ", \"dtb\": %llu, \"in_dump\": %s", (unsigned long long)p->dtb,
                bitmap && p->absent == 1 ? "false" : "true");
        if (c->damage)
            fprintf(f, ", \"reachable\": %s", p->unreachable ? "false" : "true");
        fputc('}', f);
    }
    fputs(c->nprocs ? "\n  ],\n" : "],\n", f);
    fputs("  \"modules\": [", f);
    for (int i = 0; i < c->nmods; i++) {
        const ig_mod_truth *m = &c->mods[i];
        fputs(i ? ",\n    {" : "\n    {", f);
        fputs("\"name\": ", f);
        jstr(f, m->name);
        fputs(", \"path\": ", f);
        if (m->path[0])
            jstr(f, m->path);
        else
            fputs("null", f);
        fprintf(f, ", \"base\": %llu, \"size\": %llu, \"pdb\": ", (unsigned long long)m->base,
                (unsigned long long)m->size);
        jpdb(f, m->pdb_name, m->guid, m->age);
        if (c->damage)
            fprintf(f, ", \"reachable\": %s", m->unreachable ? "false" : "true");
        if (m->headers_out)
            fputs(", \"headers_in_dump\": false", f);
        fputc('}', f);
    }
    fputs(c->nmods ? "\n  ],\n" : "],\n", f);
    fputs("  \"connections\": [", f);
    for (int i = 0; i < c->nconns; i++)
        fprintf(f, "%s\n    %s", i ? "," : "", c->conns[i]);
    fputs(c->nconns ? "\n  ],\n" : "],\n", f);
    fprintf(f, "  \"absent_pages\": %llu\n}\n", (unsigned long long)c->absent_pages);
    if (fclose(f) != 0)
        return ig_fail("cannot write %s", path);
    return IG_OK;
}
