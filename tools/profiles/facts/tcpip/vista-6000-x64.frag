# Facts for Vista/Server 2008 tcpip.sys (vista-6000-x64): Volatility 3 gives no
# partition or port-pool layout for Vista.
source google/rekall rekall-core/rekall/plugins/overlays/windows/tcpip_vtypes.py @55d1925f2df9759a989b35271b4fa48fc54a1c86

# Rekall (tcpip_vtypes_vista / tcpip_vtypes_vista_64, "reversed from
# tcpip.sys!TcpStartPartitionModule"): the pointer to the array of four
# RTL_DYNAMIC_HASH_TABLEs (TCBs first) is at +0x8 of a partition.  Rekall
# reads consecutive pointers, so it gives no partition stride: the size
# stays unknown (0).
struct _PARTITION 0x0
field _PARTITION Endpoints 0x8 0x8

# Not known for Vista: the partition stride, _INET_PORT_POOL,
# _PORT_ASSIGNMENT(_ENTRY) and the TcpL/UdpA chain links (no source covers
# Vista; hvmi and MemProcFS start at Windows 7).
