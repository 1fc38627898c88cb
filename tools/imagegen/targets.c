#include <string.h>

#include "ig.h"

/* Generator profiles.  GUIDs are the real ntkrnlmp.pdb GUID/age of the
 * symbol tables in ../shared/isf where one exists; for builds without one
 * the GUID is a fixed made-up value (see README.md). */
static const ig_target g_targets[] = {
    {"win10-19041-x64", "win10-19041-x64", 19041, 10, 0, 0, IG_MODE_X64, "ntkrnlmp.pdb",
     "CA8E2F01B822EDE6357898BFBF862997-1", -1, 1, 1, 1, 1, 1, 1, 0, 2020, 2023, ""},
    {"win11-22000-x64", "win11-22000-x64", 22000, 10, 0, 0, IG_MODE_X64, "ntkrnlmp.pdb",
     "0CE4A95C0CD782A7596B034D8648E585-1", -1, 1, 1, 1, 1, 1, 1, 0, 2021, 2024, ""},
    {"win81-9600-x64", "win81-9600-x64", 9600, 6, 3, 0, IG_MODE_X64, "ntkrnlmp.pdb",
     "7C398E976BF945AD812B204DAFBC1A03-1", 0x1ED, 1, 1, 1, 1, 0, 0, 0, 2014, 2018, ""},
    {"win7-7601-x64", "win7-7601-x64", 7601, 6, 1, 1, IG_MODE_X64, "ntkrnlmp.pdb",
     "339E74133576439CBCDF7E0229DA3773-1", 0x1ED, 0, 1, 0, 1, 0, 0, 0, 2011, 2019, "Service Pack 1"},
    {"win7-7601-x86pae", "win7-7601-x86", 7601, 6, 1, 1, IG_MODE_PAE, "ntkrpamp.pdb",
     "5B4A8E6C1D2F4A7B9C3E8D0F1A2B3C4D-2", 0, 0, 1, 0, 0, 0, 0, 0, 2011, 2016, "Service Pack 1"},
    {"xpsp2-x86", "xp-2600-x86", 2600, 5, 1, 2, IG_MODE_X86, "ntkrnlmp.pdb",
     "32962337F0F646388B39535CD8DD70E8-2", 0, 0, 1, 0, 0, 0, 0, 1, 2005, 2008, "Service Pack 2"},
    {"xpsp3-x86pae", "xp-2600-x86", 2600, 5, 1, 3, IG_MODE_PAE, "ntkrpamp.pdb",
     "30B5FB31AE7E4ACAABA750AA241FF331-2", 0, 0, 1, 0, 0, 0, 0, 1, 2008, 2012, "Service Pack 3"},
    {"2003sp2-x64", "2003-3790-x64", 3790, 5, 2, 2, IG_MODE_X64, "ntkrnlmp.pdb",
     "A2F1C7D4E5B64C3A8D9E0F1B2C3D4E5F-1", 0x1ED, 0, 1, 0, 0, 0, 0, 1, 2007, 2010, "Service Pack 2"},
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
