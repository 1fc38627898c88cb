#include "kernel_internal.h"

ms_status ms_kernel_walk_list(ms_kernel *k, uint64_t head, const char *what, size_t max_entries,
                              ms_list_entry_fn fn, void *user)
{
    if (head == 0)
        return ms_fail(MS_ERR_NOT_FOUND, "the head of the %s was not found, so the list cannot be walked", what);
    ms_visit_set seen;
    ms_status st = ms_visit_set_init(&seen, max_entries);
    if (st != MS_OK)
        return st;
    uint64_t entry;
    st = ms_vspace_read_ptr(k->vs, head, &entry);
    if (st != MS_OK) {
        ms_visit_set_free(&seen);
        return ms_fail(st, "the head of the %s at 0x%llx is not readable", what, (unsigned long long)head);
    }
    while (entry != head) {
        int added = ms_visit_set_add(&seen, entry);
        if (added <= 0) {
            ms_kernel_log(k, MS_KLOG_WARNING,
                          added == 0 ? "%s loops back to 0x%llx without reaching its head; stopped there"
                                     : "%s is longer than the limit; stopped at 0x%llx",
                          what, (unsigned long long)entry);
            break;
        }
        int r = fn(k, entry, user);
        if (r < 0) {
            ms_kernel_log(k, MS_KLOG_WARNING, "%s entry 0x%llx is not readable; the list ends early", what,
                          (unsigned long long)entry);
            break;
        }
        if (r > 0)
            break;
        if (ms_vspace_read_ptr(k->vs, entry, &entry) != MS_OK) {
            ms_kernel_log(k, MS_KLOG_WARNING, "%s link at 0x%llx is not readable; the list ends early", what,
                          (unsigned long long)entry);
            break;
        }
    }
    ms_visit_set_free(&seen);
    return MS_OK;
}
