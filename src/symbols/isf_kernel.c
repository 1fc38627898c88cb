/* The kernel profile body: the members, bit fields, facts and constants that
 * tools/profiles/derive_kernel.py writes for the ISFs memsift ships.  The
 * tables are copies of tools/profiles/proflib.py (KERNEL_SPEC,
 * KERNEL_ALL_BITS, KDBG_SIZES), of tools/profiles/facts/common/
 * kddebugger_data64.frag and of derive_tcpip.py's TCPIP_SYMBOLS;
 * tests/unit/test_isf_import.c checks them against those files. */
#include <string.h>

#include "isf_internal.h"

#define PATHS(...) (const char *const[]){__VA_ARGS__, NULL}

const ms_isf_spec ms_isf_kernel_spec[] = {
    {"_EPROCESS", PATHS("Pcb", "Pcb.Header.Type", "Pcb.Header.Size", "Pcb.Header.SignalState",
                        "Pcb.DirectoryTableBase", "Pcb.ThreadListHead", "UniqueProcessId", "ActiveProcessLinks",
                        "InheritedFromUniqueProcessId", "ImageFileName", "CreateTime", "ExitTime", "ExitStatus",
                        "ActiveThreads", "Peb", "ObjectTable", "Token", "VadRoot", "SeAuditProcessCreationInfo",
                        "SeAuditProcessCreationInfo.ImageFileName", "ImageFilePointer", "ThreadListHead",
                        "Wow64Process|WoW64Process")},
    {"_KPROCESS", PATHS("Header", "DirectoryTableBase", "ThreadListHead")},
    {"_DISPATCHER_HEADER", PATHS("Type", "Size", "SignalState")},
    {"_SE_AUDIT_PROCESS_CREATION_INFO", PATHS("ImageFileName")},
    {"_OBJECT_NAME_INFORMATION", PATHS("Name")},
    {"_LDR_DATA_TABLE_ENTRY", PATHS("InLoadOrderLinks", "InMemoryOrderLinks", "DllBase", "EntryPoint", "SizeOfImage",
                                    "FullDllName", "BaseDllName", "TimeDateStamp")},
    {"_KLDR_DATA_TABLE_ENTRY", PATHS("InLoadOrderLinks", "DllBase", "EntryPoint", "SizeOfImage", "FullDllName",
                                     "BaseDllName", "TimeDateStamp")},
    {"_LIST_ENTRY", PATHS("Flink", "Blink")},
    {"_UNICODE_STRING", PATHS("Length", "MaximumLength", "Buffer")},
    {"_DBGKD_GET_VERSION64", PATHS("MajorVersion", "MinorVersion", "ProtocolVersion", "KdSecondaryVersion", "Flags",
                                   "MachineType", "KernBase", "PsLoadedModuleList", "DebuggerDataList")},
    {"_KUSER_SHARED_DATA", PATHS("SystemTime", "NtBuildNumber", "NtProductType", "NtMajorVersion", "NtMinorVersion",
                                 "NumberOfPhysicalPages", "ActiveProcessorCount", "KdDebuggerEnabled")},
    {"_KPCR", PATHS("Self", "SelfPcr", "Prcb", "PrcbData", "CurrentPrcb", "KdVersionBlock")},
    {"_KPRCB", PATHS("CurrentThread", "IdleThread")},
    {"_POOL_HEADER", PATHS("PreviousSize", "PoolIndex", "BlockSize", "PoolType", "PoolTag", "ProcessBilled")},
    {"_OBJECT_HEADER", PATHS("PointerCount", "HandleCount", "Type", "TypeIndex", "InfoMask", "Body")},
    {"_RTL_DYNAMIC_HASH_TABLE", PATHS("Flags", "Shift", "TableSize", "Pivot", "DivisorMask", "NumEntries",
                                      "NonEmptyBuckets", "NumEnumerators", "Directory")},
    {"_RTL_BITMAP", PATHS("SizeOfBitMap", "Buffer")},
    {NULL, NULL},
};

const char *const ms_isf_kernel_all_bits[] = {"_MMPTE_TRANSITION", "_MMPTE_PROTOTYPE", "_MMPTE_SOFTWARE", NULL};

/* _KDDEBUGGER_DATA64 is not in the kernel PDB (wdbgexts.h; see the .frag). */
const char *const ms_isf_kddebugger_frag[] = {
    "struct _DBGKD_DEBUG_DATA_HEADER64 0x18",
    "field _DBGKD_DEBUG_DATA_HEADER64 List 0x0 0x10",
    "field _DBGKD_DEBUG_DATA_HEADER64 OwnerTag 0x10 0x4",
    "field _DBGKD_DEBUG_DATA_HEADER64 Size 0x14 0x4",
    "struct _KDDEBUGGER_DATA64 0x340",
    "field _KDDEBUGGER_DATA64 Header 0x0 0x18",
    "field _KDDEBUGGER_DATA64 Header.List 0x0 0x10",
    "field _KDDEBUGGER_DATA64 Header.OwnerTag 0x10 0x4",
    "field _KDDEBUGGER_DATA64 Header.Size 0x14 0x4",
    "field _KDDEBUGGER_DATA64 KernBase 0x18 0x8",
    "field _KDDEBUGGER_DATA64 BreakpointWithStatus 0x20 0x8",
    "field _KDDEBUGGER_DATA64 SavedContext 0x28 0x8",
    "field _KDDEBUGGER_DATA64 PsLoadedModuleList 0x48 0x8",
    "field _KDDEBUGGER_DATA64 PsActiveProcessHead 0x50 0x8",
    "field _KDDEBUGGER_DATA64 PspCidTable 0x58 0x8",
    "field _KDDEBUGGER_DATA64 ObpRootDirectoryObject 0x98 0x8",
    "field _KDDEBUGGER_DATA64 ObpTypeObjectType 0xa0 0x8",
    "field _KDDEBUGGER_DATA64 MmPfnDatabase 0xc0 0x8",
    "field _KDDEBUGGER_DATA64 MmNonPagedPoolStart 0x110 0x8",
    "field _KDDEBUGGER_DATA64 MmSystemRangeStart 0x1d0 0x8",
    "field _KDDEBUGGER_DATA64 NtBuildLab 0x208 0x8",
    "field _KDDEBUGGER_DATA64 KiProcessorBlock 0x218 0x8",
    "field _KDDEBUGGER_DATA64 MmUnloadedDrivers 0x220 0x8",
    "field _KDDEBUGGER_DATA64 MmLastUnloadedDriver 0x228 0x8",
    "field _KDDEBUGGER_DATA64 CmNtCSDVersion 0x268 0x8",
    "field _KDDEBUGGER_DATA64 MmPhysicalMemoryBlock 0x270 0x8",
    "field _KDDEBUGGER_DATA64 OffsetPrcbContext 0x338 0x2",
    NULL,
};

const char *const ms_isf_tcpip_symbols[] = {
    "PartitionTable", "PartitionCount", "TcpPortPool", "UdpPortPool", "TcpCompartmentSet", "UdpCompartmentSet",
    "MaxPartitionCount", "TcpEndpointPool", "TcpTcbPool", "TcpListenerCount", "TcpEnumerateAllConnections",
    "TcpEnumerateConnections", "TcpEnumerateListeners", "UdpEnumerateEndpoints", "UdpEnumerateAllEndpointObjects",
    "InetBeginEnumeratePortPool", NULL,
};

/* _KDDEBUGGER_DATA64 Header.Size by first build (Volatility 2's per-release values). */
static const struct { uint32_t build, size; } kdbg_sizes[] = {
    {2600, 0x290}, {3790, 0x318}, {6000, 0x328}, {6001, 0x330},
    {7600, 0x340}, {9200, 0x360}, {14393, 0x368}, {17763, 0x380},
};

uint32_t ms_isf_kdbg_size(uint32_t build)
{
    uint32_t size = 0;
    for (size_t i = 0; i < sizeof kdbg_sizes / sizeof kdbg_sizes[0]; i++)
        if (build >= kdbg_sizes[i].build)
            size = kdbg_sizes[i].size;
    return size;
}

static ms_status spec_block(const ms_isf_types *types, const ms_isf_spec *spec, ms_isf_text *out, size_t *structs,
                            size_t *fields)
{
    json_t *ut = json_object_get(types->user, spec->type);
    if (ut == NULL)
        return MS_OK;
    uint32_t size;
    ms_status st = ms_isf_struct_size(types, spec->type, ut, &size);
    if (st != MS_OK)
        return st;
    ms_isf_text_printf(out, "struct %s 0x%x\n", spec->type, size);
    (*structs)++;
    for (const char *const *p = spec->paths; *p != NULL; p++) {
        const char *alt = *p;
        while (alt != NULL) {
            const char *bar = strchr(alt, '|');
            char path[128];
            size_t n = bar ? (size_t)(bar - alt) : strlen(alt);
            memcpy(path, alt, n);
            path[n] = '\0';
            uint32_t offset;
            json_t *mt;
            st = ms_isf_resolve(types, spec->type, path, &offset, &mt);
            if (st == MS_OK)
                st = ms_isf_member_line(types, out, spec->type, path, offset, mt, fields);
            if (st != MS_OK && st != MS_ERR_NOT_FOUND)
                return st;
            alt = bar ? bar + 1 : NULL;
        }
    }
    ms_isf_text_printf(out, "\n");
    return MS_OK;
}

typedef struct bit_row {
    uint32_t offset, position;
    const char *name;
    json_t *type;
} bit_row;

static int compare_bits(const bit_row *a, const bit_row *b)
{
    if (a->offset != b->offset)
        return a->offset < b->offset ? -1 : 1;
    if (a->position != b->position)
        return a->position < b->position ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* Every bit field of one structure, by offset and bit position. */
static ms_status all_bits_block(const ms_isf_types *types, const char *name, ms_isf_text *out, size_t *structs,
                                size_t *fields)
{
    json_t *ut = json_object_get(types->user, name);
    if (ut == NULL)
        return MS_OK;
    uint32_t size;
    ms_status st = ms_isf_struct_size(types, name, ut, &size);
    if (st != MS_OK)
        return st;
    json_t *members = json_object_get(ut, "fields");
    if (!json_is_object(members))
        return ms_fail(MS_ERR_FORMAT, "%s: user type %s: expected a 'fields' object", types->origin, name);
    ms_isf_text_printf(out, "struct %s 0x%x\n", name, size);
    (*structs)++;
    enum { MAX_BITS = 128 };
    bit_row rows[MAX_BITS];
    size_t n = 0;
    const char *key;
    json_t *f;
    json_object_foreach(members, key, f) {
        (void)f;
        if (strchr(key, '.') != NULL)
            continue;
        uint32_t offset;
        json_t *mt;
        st = ms_isf_resolve(types, name, key, &offset, &mt);
        if (st == MS_ERR_NOT_FOUND)
            continue;
        if (st != MS_OK)
            return st;
        const char *kind = json_string_value(json_object_get(mt, "kind"));
        if (kind == NULL || strcmp(kind, "bitfield") != 0 || !ms_isf_token_ok(key))
            continue;
        if (n == MAX_BITS)
            return ms_fail(MS_ERR_LIMIT, "%s: %s has more than %d bit fields", types->origin, name, MAX_BITS);
        json_int_t pos = json_integer_value(json_object_get(mt, "bit_position"));
        rows[n++] = (bit_row){offset, pos < 0 || pos > 63 ? 64 : (uint32_t)pos, key, mt};
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && compare_bits(&rows[j - 1], &rows[j]) > 0; j--) {
            bit_row t = rows[j];
            rows[j] = rows[j - 1];
            rows[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++)
        if ((st = ms_isf_member_line(types, out, name, rows[i].name, rows[i].offset, rows[i].type, fields)) != MS_OK)
            return st;
    ms_isf_text_printf(out, "\n");
    return MS_OK;
}

ms_status ms_isf_kernel_layouts(const ms_isf_types *types, ms_isf_text *out, size_t *structs, size_t *fields)
{
    ms_status st;
    for (const ms_isf_spec *s = ms_isf_kernel_spec; s->type != NULL; s++)
        if ((st = spec_block(types, s, out, structs, fields)) != MS_OK)
            return st;
    for (const char *const *b = ms_isf_kernel_all_bits; *b != NULL; b++)
        if ((st = all_bits_block(types, *b, out, structs, fields)) != MS_OK)
            return st;
    for (const char *const *l = ms_isf_kddebugger_frag; *l != NULL; l++) {
        if (strncmp(*l, "struct ", 7) == 0) {
            if (l != ms_isf_kddebugger_frag)
                ms_isf_text_printf(out, "\n");
            (*structs)++;
        } else {
            (*fields)++;
        }
        ms_isf_text_printf(out, "%s\n", *l);
    }
    ms_isf_text_printf(out, "\n");
    return MS_OK;
}

void ms_isf_kernel_constants(const ms_isf_types *types, uint32_t build, ms_isf_text *out)
{
    uint32_t size;
    json_t *kp = json_object_get(types->user, "_KPROCESS");
    if (kp != NULL && ms_isf_struct_size(types, "_KPROCESS", kp, &size) == MS_OK) {
        ms_isf_text_printf(out, "const KPROCESS_SIZE 0x%x\n", size);
        /* Header.Size is a byte. */
        if (size / 4 <= 0xff)
            ms_isf_text_printf(out, "const KPROCESS_HEADER_SIZE 0x%x\n", size / 4);
        else
            ms_isf_text_printf(out, "# no KPROCESS_HEADER_SIZE: sizeof(_KPROCESS)/4 does not fit Header.Size (a byte)\n");
    }
    uint32_t kdbg = build != MS_PROFILE_BUILD_PDB_ONLY ? ms_isf_kdbg_size(build) : 0;
    if (kdbg != 0)
        ms_isf_text_printf(out, "const KDBG_SIZE 0x%x\n", kdbg);
    ms_isf_text_printf(out, "const POOL_ALIGNMENT %d\n", types->pointer_size == 8 ? 16 : 8);
    json_t *ph = json_object_get(types->user, "_POOL_HEADER");
    if (ph != NULL && ms_isf_struct_size(types, "_POOL_HEADER", ph, &size) == MS_OK)
        ms_isf_text_printf(out, "const POOL_HEADER_SIZE 0x%x\n", size);
}
