/* Structure offsets the kernel walkers need, from the profile in use. */
#include "kernel_internal.h"

static int64_t field(const ms_profile *p, const char *type, const char *path)
{
    uint32_t off;
    if (p == NULL || ms_profile_field(p, type, path, &off) != MS_OK)
        return -1;
    return off;
}

ms_status ms_kernel_resolve_layouts(ms_kernel *k)
{
    const ms_profile *p = k->profile;
    int x64 = k->info.pointer_size == 8;
    ms_eprocess_layout *ep = &k->ep;

    ep->pid = field(p, "_EPROCESS", "UniqueProcessId");
    ep->links = field(p, "_EPROCESS", "ActiveProcessLinks");
    ep->ppid = field(p, "_EPROCESS", "InheritedFromUniqueProcessId");
    ep->name = field(p, "_EPROCESS", "ImageFileName");
    ep->create_time = field(p, "_EPROCESS", "CreateTime");
    ep->exit_time = field(p, "_EPROCESS", "ExitTime");
    ep->threads = field(p, "_EPROCESS", "ActiveThreads");
    ep->peb = field(p, "_EPROCESS", "Peb");
    ep->dtb = field(p, "_EPROCESS", "Pcb.DirectoryTableBase");
    if (ep->dtb < 0) /* KPROCESS.DirectoryTableBase is at 0x18 (x86) / 0x28 (x64) in every build */
        ep->dtb = x64 ? 0x28 : 0x18;
    ep->audit_name = field(p, "_EPROCESS", "SeAuditProcessCreationInfo.ImageFileName");
    if (ep->audit_name < 0)
        ep->audit_name = field(p, "_EPROCESS", "SeAuditProcessCreationInfo");
    ep->size = 0;
    if (p != NULL)
        ms_profile_struct_size(p, "_EPROCESS", &ep->size);

    /* _LDR_DATA_TABLE_ENTRY has kept these offsets from XP to Windows 11. */
    ms_ldr_layout *ldr = &k->ldr;
    ldr->links = 0;
    ldr->dll_base = field(p, "_LDR_DATA_TABLE_ENTRY", "DllBase");
    ldr->size_of_image = field(p, "_LDR_DATA_TABLE_ENTRY", "SizeOfImage");
    ldr->full_name = field(p, "_LDR_DATA_TABLE_ENTRY", "FullDllName");
    ldr->base_name = field(p, "_LDR_DATA_TABLE_ENTRY", "BaseDllName");
    if (ldr->dll_base < 0)
        ldr->dll_base = x64 ? 0x30 : 0x18;
    if (ldr->size_of_image < 0)
        ldr->size_of_image = x64 ? 0x40 : 0x20;
    if (ldr->full_name < 0)
        ldr->full_name = x64 ? 0x48 : 0x24;
    if (ldr->base_name < 0)
        ldr->base_name = x64 ? 0x58 : 0x2c;

    if (ep->pid < 0 || ep->links < 0 || ep->name < 0)
        return ms_fail(MS_ERR_NOT_FOUND, "the kernel profile %s lacks the EPROCESS offsets (UniqueProcessId, "
                       "ActiveProcessLinks, ImageFileName) needed to list processes",
                       p ? ms_profile_name(p) : "(none)");
    return MS_OK;
}
