#include <string.h>

#include "ig.h"

/* Generator profiles.  GUIDs are the real ntkrnlmp.pdb GUID/age of the
 * symbol tables in ../shared/isf where one exists; for builds without one
 * the GUID is a fixed made-up value (see README.md). */
static const ig_target g_targets[] = {
    {"win10-19041-x64", "win10-19041-x64", 19041, 10, 0, 0, IG_MODE_X64, "ntkrnlmp.pdb",
     "CA8E2F01B822EDE6357898BFBF862997-1", -1, 1, 1, 1, 1, 1, 1, 0, 2020, 2023, "", 0},
    {"win11-22000-x64", "win11-22000-x64", 22000, 10, 0, 0, IG_MODE_X64, "ntkrnlmp.pdb",
     "0CE4A95C0CD782A7596B034D8648E585-1", -1, 1, 1, 1, 1, 1, 1, 0, 2021, 2024, "", 0},
    {"win81-9600-x64", "win81-9600-x64", 9600, 6, 3, 0, IG_MODE_X64, "ntkrnlmp.pdb",
     "7C398E976BF945AD812B204DAFBC1A03-1", 0x1ED, 1, 1, 1, 1, 0, 0, 0, 2014, 2018, "", 0},
    {"win7-7601-x64", "win7-7601-x64", 7601, 6, 1, 1, IG_MODE_X64, "ntkrnlmp.pdb",
     "339E74133576439CBCDF7E0229DA3773-1", 0x1ED, 0, 1, 0, 1, 0, 0, 0, 2011, 2019, "Service Pack 1", 0},
    {"win7-7601-x86pae", "win7-7601-x86", 7601, 6, 1, 1, IG_MODE_PAE, "ntkrpamp.pdb",
     "5B4A8E6C1D2F4A7B9C3E8D0F1A2B3C4D-2", 0, 0, 1, 0, 0, 0, 0, 0, 2011, 2016, "Service Pack 1", 0},
    {"xpsp2-x86", "xp-2600-x86", 2600, 5, 1, 2, IG_MODE_X86, "ntkrnlmp.pdb",
     "32962337F0F646388B39535CD8DD70E8-2", 0, 0, 1, 0, 0, 0, 0, 1, 2005, 2008, "Service Pack 2", 0},
    {"xpsp3-x86pae", "xp-2600-x86", 2600, 5, 1, 3, IG_MODE_PAE, "ntkrpamp.pdb",
     "30B5FB31AE7E4ACAABA750AA241FF331-2", 0, 0, 1, 0, 0, 0, 0, 1, 2008, 2012, "Service Pack 3", 0},
    {"2003sp2-x64", "2003-3790-x64", 3790, 5, 2, 2, IG_MODE_X64, "ntkrnlmp.pdb",
     "A2F1C7D4E5B64C3A8D9E0F1B2C3D4E5F-1", 0x1ED, 0, 1, 0, 0, 0, 0, 1, 2007, 2010, "Service Pack 2", 0},

    /* Added for the coverage claims (docs: README.md, Profiles).  Real GUIDs
     * come from the kernel profile's pdb line where it has one (14393, 17763,
     * 18362, 20348); fallback_guid is made up.  Self-map: index 0x1ED up to
     * 1511, random from 1607 (14393).  Windows 8+ x86 is always PAE. */
    {"win10-17763-x64", "win10-17763-x64", 17763, 10, 0, 0, IG_MODE_X64, "ntkrnlmp.pdb",
     "6E2B0C4D8A1F4E3B9D7C5A0B1E2F3A41-1", -1, 1, 1, 1, 1, 0, 1, 0, 2018, 2023, "", 0},
    {"win10-14393-x64", "win10-14393-x64", 14393, 10, 0, 0, IG_MODE_X64, "ntkrnlmp.pdb",
     "7F3C1D5E9B204F4CAE8D6B1C2F3A4B52-1", -1, 1, 1, 1, 1, 0, 1, 0, 2016, 2021, "", 0},
    {"win10-20348-x64", "win10-20348-x64", 20348, 10, 0, 0, IG_MODE_X64, "ntkrnlmp.pdb",
     "804D2E6FAC315A5DBF9E7C2D3A4B5C63-1", -1, 1, 1, 1, 1, 1, 1, 0, 2021, 2025, "", 0},
    {"win10-18362-x64", "win10-18362-x64", 18362, 10, 0, 0, IG_MODE_X64, "ntkrnlmp.pdb",
     "915E3F70BD426B6EC0AF8D3E4B5C6D74-1", -1, 1, 1, 1, 1, 1, 1, 0, 2019, 2022, "", 0},
    {"win10-10240-x64", "win10-10240-x64", 10240, 10, 0, 0, IG_MODE_X64, "ntkrnlmp.pdb",
     "A26F4081CE537C7FD1B09E4F5C6D7E85-1", 0x1ED, 1, 1, 1, 1, 0, 1, 0, 2015, 2017, "", 0},
    {"win8-9200-x64", "win8-9200-x64", 9200, 6, 2, 0, IG_MODE_X64, "ntkrnlmp.pdb",
     "B3705192DF648D80E2C1AF506D7E8F96-1", 0x1ED, 1, 1, 1, 1, 0, 0, 0, 2012, 2016, "", 0},
    {"vista-6001-x64", "vista-6001-x64", 6001, 6, 0, 1, IG_MODE_X64, "ntkrnlmp.pdb",
     "C48162A3E0759E91F3D2B0617E8F90A7-1", 0x1ED, 0, 1, 0, 1, 0, 0, 0, 2008, 2011, "Service Pack 1", 0},
    {"win10-19041-x86", "win10-19041-x86", 19041, 10, 0, 0, IG_MODE_PAE, "ntkrpamp.pdb",
     "D59273B4F186AFA204E3C1728F90A1B8-1", 0, 1, 1, 0, 0, 1, 1, 0, 2020, 2023, "", 0},
    {"win81-9600-x86", "win81-9600-x86", 9600, 6, 3, 0, IG_MODE_PAE, "ntkrpamp.pdb",
     "E6A384C50297B0B315F4D2839FA1B2C9-1", 0, 1, 1, 0, 0, 0, 0, 0, 2014, 2018, "", 0},
    {"vista-6001-x86", "vista-6001-x86", 6001, 6, 0, 1, IG_MODE_X86, "ntkrnlmp.pdb",
     "F7B495D613A8C1C42605E394A0B2C3DA-1", 0, 0, 1, 0, 0, 0, 0, 0, 2008, 2011, "Service Pack 1", 0},
    /* No published layout for these kernels: 22000's, with the _EPROCESS
     * members after ActiveProcessLinks moved (made up), so that a reader must
     * probe the structure; tcpip layouts from profiles/tcpip by build. */
    {"win11-22621-x64", "win11-22000-x64", 22621, 10, 0, 0, IG_MODE_X64, "ntkrnlmp.pdb",
     "0A1B2C3D4E5F60718293A4B5C6D7E8F9-1", -1, 1, 1, 1, 1, 1, 1, 0, 2022, 2025, "", 0x30},
    {"win11-26100-x64", "win11-22000-x64", 26100, 10, 0, 0, IG_MODE_X64, "ntkrnlmp.pdb",
     "1B2C3D4E5F60718293A4B5C6D7E8F90A-1", -1, 1, 1, 1, 1, 1, 1, 0, 2024, 2026, "", 0x58},
};

const ig_target *ig_target_at(size_t i)
{
    return i < sizeof g_targets / sizeof g_targets[0] ? &g_targets[i] : NULL;
}

const ig_target *ig_target_find(const char *name)
{
    for (size_t i = 0; i < sizeof g_targets / sizeof g_targets[0]; i++)
        if (strcmp(g_targets[i].name, name) == 0)
            return &g_targets[i];
    return NULL;
}
