/* On-disk layout of Windows kernel crash dumps (MEMORY.DMP).
 *
 * Offsets follow the Windows SDK's mindumpdef.h (DUMP_HEADER32/64,
 * PHYSICAL_MEMORY_DESCRIPTOR32/64).  Every field is given as an offset and a
 * size; the _Static_asserts below check that each field ends where the next
 * begins, so a typo in one offset cannot go unnoticed. */
#ifndef MS_IMAGE_CRASHDUMP_LAYOUT_H
#define MS_IMAGE_CRASHDUMP_LAYOUT_H

#define MS_CD_PAGE_SIZE 0x1000u

/* "PAGE": the signature, and the fill of every header byte Windows leaves unset. */
#define MS_CD_FILL          0x45474150u
#define MS_CD_VALID_DUMP32  0x504d5544u   /* "DUMP" */
#define MS_CD_VALID_DUMP64  0x34365544u   /* "DU64" */
#define MS_CD_SIG_SDMP      0x504d4453u   /* "SDMP": summary / kernel bitmap */
#define MS_CD_SIG_FDMP      0x504d4446u   /* "FDMP": full bitmap */

/* DUMP_HEADER32: 0x1000 bytes. */
#define DH32_SIZE             0x1000u
#define DH32_SIGNATURE        0x000u
#define DH32_VALID_DUMP       0x004u
#define DH32_MAJOR_VERSION    0x008u
#define DH32_MINOR_VERSION    0x00cu
#define DH32_DTB              0x010u
#define DH32_PFN_DATABASE     0x014u
#define DH32_PS_LOADED_MODS   0x018u
#define DH32_PS_ACTIVE_PROCS  0x01cu
#define DH32_MACHINE_TYPE     0x020u
#define DH32_NUM_PROCESSORS   0x024u
#define DH32_BUGCHECK_CODE    0x028u
#define DH32_BUGCHECK_PARAMS  0x02cu   /* 4 x u32 */
#define DH32_VERSION_USER     0x03cu   /* 32 bytes */
#define DH32_PAE_ENABLED      0x05cu   /* u8, then KdSecondaryVersion u8, 2 spare */
#define DH32_KDBG             0x060u
#define DH32_PHYS_BLOCK       0x064u   /* 700 bytes */
#define DH32_CONTEXT          0x320u   /* 1200 bytes */
#define DH32_EXCEPTION        0x7d0u   /* EXCEPTION_RECORD32, 0x50 bytes */
#define DH32_COMMENT          0x820u   /* 128 bytes */
#define DH32_ATTRIBUTES       0x8a0u
#define DH32_BOOT_ID          0x8a4u
#define DH32_RESERVED0        0x8a8u   /* 1760 bytes */
#define DH32_DUMP_TYPE        0xf88u
#define DH32_MINIDUMP_FIELDS  0xf8cu
#define DH32_SECONDARY_STATE  0xf90u
#define DH32_PRODUCT_TYPE     0xf94u
#define DH32_SUITE_MASK       0xf98u
#define DH32_WRITER_STATUS    0xf9cu
#define DH32_REQUIRED_SPACE   0xfa0u   /* u64 */
#define DH32_RESERVED2        0xfa8u   /* 16 bytes */
#define DH32_SYSTEM_UPTIME    0xfb8u   /* u64 */
#define DH32_SYSTEM_TIME      0xfc0u   /* u64 */
#define DH32_RESERVED3        0xfc8u   /* 56 bytes */

/* DUMP_HEADER64: 0x2000 bytes. */
#define DH64_SIZE             0x2000u
#define DH64_SIGNATURE        0x000u
#define DH64_VALID_DUMP       0x004u
#define DH64_MAJOR_VERSION    0x008u
#define DH64_MINOR_VERSION    0x00cu
#define DH64_DTB              0x010u
#define DH64_PFN_DATABASE     0x018u
#define DH64_PS_LOADED_MODS   0x020u
#define DH64_PS_ACTIVE_PROCS  0x028u
#define DH64_MACHINE_TYPE     0x030u
#define DH64_NUM_PROCESSORS   0x034u
#define DH64_BUGCHECK_CODE    0x038u   /* u32 + 4 bytes padding */
#define DH64_BUGCHECK_PARAMS  0x040u   /* 4 x u64 */
#define DH64_VERSION_USER     0x060u   /* 32 bytes */
#define DH64_KDBG             0x080u
#define DH64_PHYS_BLOCK       0x088u   /* 700 bytes, then 4 bytes padding */
#define DH64_CONTEXT          0x348u   /* 3000 bytes */
#define DH64_EXCEPTION        0xf00u   /* EXCEPTION_RECORD64, 0x98 bytes */
#define DH64_DUMP_TYPE        0xf98u   /* u32 + 4 bytes padding */
#define DH64_REQUIRED_SPACE   0xfa0u
#define DH64_SYSTEM_TIME      0xfa8u
#define DH64_COMMENT          0xfb0u   /* 128 bytes */
#define DH64_SYSTEM_UPTIME    0x1030u
#define DH64_MINIDUMP_FIELDS  0x1038u
#define DH64_SECONDARY_STATE  0x103cu
#define DH64_PRODUCT_TYPE     0x1040u
#define DH64_SUITE_MASK       0x1044u
#define DH64_WRITER_STATUS    0x1048u
#define DH64_UNUSED1          0x104cu  /* u8 Unused1, u8 KdSecondaryVersion, 2 unused */
#define DH64_ATTRIBUTES       0x1050u
#define DH64_BOOT_ID          0x1054u
#define DH64_RESERVED0        0x1058u  /* 4008 bytes */

#define DH_PHYS_BLOCK_SIZE    700u
#define DH_COMMENT_SIZE       128u

/* PHYSICAL_MEMORY_DESCRIPTOR32: NumberOfRuns u32, NumberOfPages u32, Run[]
 * of {BasePage u32, PageCount u32}. */
#define PMD32_NUMBER_OF_RUNS  0x0u
#define PMD32_NUMBER_OF_PAGES 0x4u
#define PMD32_RUNS            0x8u
#define PMD32_RUN_SIZE        8u
#define PMD32_MAX_RUNS        ((DH_PHYS_BLOCK_SIZE - PMD32_RUNS) / PMD32_RUN_SIZE)

/* PHYSICAL_MEMORY_DESCRIPTOR64: NumberOfRuns u32, 4 bytes padding,
 * NumberOfPages u64, Run[] of {BasePage u64, PageCount u64}. */
#define PMD64_NUMBER_OF_RUNS  0x0u
#define PMD64_NUMBER_OF_PAGES 0x8u
#define PMD64_RUNS            0x10u
#define PMD64_RUN_SIZE        16u
#define PMD64_MAX_RUNS        ((DH_PHYS_BLOCK_SIZE - PMD64_RUNS) / PMD64_RUN_SIZE)

/* Bitmap header of DumpType 5/6 (and of 64-bit DumpType 2 since Windows 8),
 * right after the main header of either width.  Sources: volatility3
 * symbols/windows/crash_common.json `_SUMMARY_DUMP` (shared by its 32- and
 * 64-bit crash layers), kdmp-parser BMP_HEADER64 (FirstPage = HeaderSize,
 * TotalPresentPages = Pages, Pages = BitmapSize). */
#define BMP_SIGNATURE         0x00u
#define BMP_VALID_DUMP        0x04u
#define BMP_DUMP_OPTIONS      0x08u
#define BMP_HEADER_SIZE       0x20u    /* u64: file offset of the first page */
#define BMP_PAGES             0x28u    /* u64: number of set bits */
#define BMP_BITMAP_SIZE       0x30u    /* u64: number of bits (PFNs covered) */
#define BMP_BITS              0x38u

/* SUMMARY_DUMP32 / SUMMARY_DUMP64 (DumpType 2 before Windows 8): 32-bit
 * fields, then an on-disk RTL_BITMAP {SizeOfBitMap u32, reserved, bits}.
 * Sources: the WDK 10 type information of _SUMMARY_DUMP32 (size 0x20,
 * Bitmap.Buffer at +0x20) and _SUMMARY_DUMP64 (Bitmap.Buffer at +0x28), as
 * published in can1357/selene resources/sdk/nt/summary_dump32_t.hpp and
 * summary_dump64_t.hpp; the same layout appears in Microsoft's dbgeng dump.h
 * ("These next three fields essentially form an on-disk RTL_BITMAP"). */
#define SUM_SIGNATURE         0x00u
#define SUM_VALID_DUMP        0x04u
#define SUM_DUMP_OPTIONS      0x08u
#define SUM_HEADER_SIZE       0x0cu    /* u32: file offset of the first page */
#define SUM_BITMAP_SIZE       0x10u    /* u32: number of bits */
#define SUM_PAGES             0x14u    /* u32: number of set bits */
#define SUM_SIZE_OF_BITMAP    0x18u    /* u32: RTL_BITMAP.SizeOfBitMap */
#define SUM32_BITS            0x20u
#define SUM64_BITS            0x28u

/* Each field ends where the next begins. */
_Static_assert(DH32_BUGCHECK_PARAMS + 4 * 4 == DH32_VERSION_USER, "DUMP_HEADER32 bugcheck params");
_Static_assert(DH32_VERSION_USER + 32 == DH32_PAE_ENABLED, "DUMP_HEADER32 VersionUser");
_Static_assert(DH32_PAE_ENABLED + 4 == DH32_KDBG, "DUMP_HEADER32 PaeEnabled");
_Static_assert(DH32_KDBG + 4 == DH32_PHYS_BLOCK, "DUMP_HEADER32 KdDebuggerDataBlock");
_Static_assert(DH32_PHYS_BLOCK + DH_PHYS_BLOCK_SIZE == DH32_CONTEXT, "DUMP_HEADER32 PhysicalMemoryBlock");
_Static_assert(DH32_CONTEXT + 1200 == DH32_EXCEPTION, "DUMP_HEADER32 ContextRecord");
_Static_assert(DH32_EXCEPTION + 0x50 == DH32_COMMENT, "DUMP_HEADER32 Exception");
_Static_assert(DH32_COMMENT + DH_COMMENT_SIZE == DH32_ATTRIBUTES, "DUMP_HEADER32 Comment");
_Static_assert(DH32_BOOT_ID + 4 == DH32_RESERVED0, "DUMP_HEADER32 BootId");
_Static_assert(DH32_RESERVED0 + 1760 == DH32_DUMP_TYPE, "DUMP_HEADER32 reserved0");
_Static_assert(DH32_WRITER_STATUS + 4 == DH32_REQUIRED_SPACE, "DUMP_HEADER32 WriterStatus");
_Static_assert(DH32_RESERVED2 + 16 == DH32_SYSTEM_UPTIME, "DUMP_HEADER32 reserved2");
_Static_assert(DH32_SYSTEM_TIME + 8 == DH32_RESERVED3, "DUMP_HEADER32 SystemTime");
_Static_assert(DH32_RESERVED3 + 56 == DH32_SIZE, "DUMP_HEADER32 size");

_Static_assert(DH64_BUGCHECK_CODE + 8 == DH64_BUGCHECK_PARAMS, "DUMP_HEADER64 BugCheckCode");
_Static_assert(DH64_BUGCHECK_PARAMS + 4 * 8 == DH64_VERSION_USER, "DUMP_HEADER64 bugcheck params");
_Static_assert(DH64_VERSION_USER + 32 == DH64_KDBG, "DUMP_HEADER64 VersionUser");
_Static_assert(DH64_KDBG + 8 == DH64_PHYS_BLOCK, "DUMP_HEADER64 KdDebuggerDataBlock");
_Static_assert(DH64_PHYS_BLOCK + DH_PHYS_BLOCK_SIZE + 4 == DH64_CONTEXT, "DUMP_HEADER64 PhysicalMemoryBlock");
_Static_assert(DH64_CONTEXT + 3000 == DH64_EXCEPTION, "DUMP_HEADER64 ContextRecord");
_Static_assert(DH64_EXCEPTION + 0x98 == DH64_DUMP_TYPE, "DUMP_HEADER64 Exception");
_Static_assert(DH64_DUMP_TYPE + 8 == DH64_REQUIRED_SPACE, "DUMP_HEADER64 DumpType");
_Static_assert(DH64_SYSTEM_TIME + 8 == DH64_COMMENT, "DUMP_HEADER64 SystemTime");
_Static_assert(DH64_COMMENT + DH_COMMENT_SIZE == DH64_SYSTEM_UPTIME, "DUMP_HEADER64 Comment");
_Static_assert(DH64_WRITER_STATUS + 4 == DH64_UNUSED1, "DUMP_HEADER64 WriterStatus");
_Static_assert(DH64_UNUSED1 + 4 == DH64_ATTRIBUTES, "DUMP_HEADER64 Unused");
_Static_assert(DH64_BOOT_ID + 4 == DH64_RESERVED0, "DUMP_HEADER64 BootId");
_Static_assert(DH64_RESERVED0 + 4008 == DH64_SIZE, "DUMP_HEADER64 size");

_Static_assert(PMD32_MAX_RUNS == 86, "32-bit run list holds 86 runs");
_Static_assert(PMD64_MAX_RUNS == 42, "64-bit run list holds 42 runs");
_Static_assert(BMP_BITMAP_SIZE + 8 == BMP_BITS, "bitmap header size");
_Static_assert(SUM_SIZE_OF_BITMAP + 8 == SUM32_BITS, "SUMMARY_DUMP32 size");
_Static_assert(SUM_SIZE_OF_BITMAP + 16 == SUM64_BITS, "SUMMARY_DUMP64 size");

#endif
