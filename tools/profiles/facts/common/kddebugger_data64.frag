# _KDDEBUGGER_DATA64 and its header, as declared in the Debugging Tools' wdbgexts.h.
# The layout is the same on x86 and x64 (every pointer is stored as 64 bits; x86
# values are sign-extended); only Header.Size (const KDBG_SIZE) grows per release.
# Offsets checked against Volatility 3's volatility3/framework/symbols/windows/kdbg.json
# (commit a1961401d52db56f310675d8cd4af09e3d9e4139) and FORMATS.md section 3.3.
source wdbgexts.h KDDEBUGGER_DATA64 via volatility3 symbols/windows/kdbg.json
struct _DBGKD_DEBUG_DATA_HEADER64 0x18
field _DBGKD_DEBUG_DATA_HEADER64 List 0x0 0x10
field _DBGKD_DEBUG_DATA_HEADER64 OwnerTag 0x10 0x4
field _DBGKD_DEBUG_DATA_HEADER64 Size 0x14 0x4

struct _KDDEBUGGER_DATA64 0x340
field _KDDEBUGGER_DATA64 Header 0x0 0x18
field _KDDEBUGGER_DATA64 Header.List 0x0 0x10
field _KDDEBUGGER_DATA64 Header.OwnerTag 0x10 0x4
field _KDDEBUGGER_DATA64 Header.Size 0x14 0x4
field _KDDEBUGGER_DATA64 KernBase 0x18 0x8
field _KDDEBUGGER_DATA64 BreakpointWithStatus 0x20 0x8
field _KDDEBUGGER_DATA64 SavedContext 0x28 0x8
field _KDDEBUGGER_DATA64 PsLoadedModuleList 0x48 0x8
field _KDDEBUGGER_DATA64 PsActiveProcessHead 0x50 0x8
field _KDDEBUGGER_DATA64 PspCidTable 0x58 0x8
field _KDDEBUGGER_DATA64 ObpRootDirectoryObject 0x98 0x8
field _KDDEBUGGER_DATA64 ObpTypeObjectType 0xa0 0x8
field _KDDEBUGGER_DATA64 MmPfnDatabase 0xc0 0x8
field _KDDEBUGGER_DATA64 MmNonPagedPoolStart 0x110 0x8
field _KDDEBUGGER_DATA64 MmSystemRangeStart 0x1d0 0x8
field _KDDEBUGGER_DATA64 NtBuildLab 0x208 0x8
field _KDDEBUGGER_DATA64 KiProcessorBlock 0x218 0x8
field _KDDEBUGGER_DATA64 MmUnloadedDrivers 0x220 0x8
field _KDDEBUGGER_DATA64 MmLastUnloadedDriver 0x228 0x8
field _KDDEBUGGER_DATA64 CmNtCSDVersion 0x268 0x8
field _KDDEBUGGER_DATA64 MmPhysicalMemoryBlock 0x270 0x8
field _KDDEBUGGER_DATA64 OffsetPrcbContext 0x338 0x2
