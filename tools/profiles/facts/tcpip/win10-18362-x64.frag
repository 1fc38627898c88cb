# Facts completing the Volatility 3 layout of win10-18362-x64, which has no
# TIME_WAIT layout.
source ufrisk/MemProcFS vmm/vmmnet.c @c3aa81068d7311b473625846175228a32e062a94

# TIME_WAIT (TcTW, Windows 10 and later x64): MemProcFS's offsets from the
# block body, which is where the hash-table link points: InetAF 0x30,
# ports 0x4a/0x4c, local address 0x50, the remote address bytes inline at
# 0x58 (16 bytes), CreateTime 0x98; 0xa0 bytes read.
struct _TCP_TIMEWAIT_ENDPOINT 0xa0
field _TCP_TIMEWAIT_ENDPOINT ListEntry 0x0 0x10
field _TCP_TIMEWAIT_ENDPOINT InetAF 0x30 0x8
field _TCP_TIMEWAIT_ENDPOINT LocalPort 0x4a 0x2
field _TCP_TIMEWAIT_ENDPOINT RemotePort 0x4c 0x2
field _TCP_TIMEWAIT_ENDPOINT LocalAddr 0x50 0x8
field _TCP_TIMEWAIT_ENDPOINT RemoteAddressInline 0x58 0x10
field _TCP_TIMEWAIT_ENDPOINT CreateTime 0x98 0x8
