# Facts for Windows 11 24H2/25H2 and Server 2025 (26100, 26200) x64: as
# win11-22000-x64.frag, plus MemProcFS's moved TcpL/UdpA members (its
# "26100 and later" branch).
source ufrisk/MemProcFS vmm/vmmnet.c @c3aa81068d7311b473625846175228a32e062a94
source bitdefender/hvmi introcore/src/guests/windows/winnet.c @35a58459a7c5f37538556b3394bee04b1effc31c
source volatilityfoundation/volatility3 volatility3/framework/symbols/windows/netscan/netscan-win10-20348-x64.json @a1961401d52db56f310675d8cd4af09e3d9e4139 (fallback base)

# TCB state: see win11-22000-x64.frag (MemProcFS 22000 and later).
struct _TCP_ENDPOINT 0x0
field _TCP_ENDPOINT State 0x70 0x4
field _TCP_ENDPOINT LocalPort 0x74 0x2
field _TCP_ENDPOINT RemotePort 0x76 0x2

# MemProcFS 26100+: TcpL INET_AF 0x30, EPROCESS 0x38, Time 0x48, SrcAddr
# 0x68, SrcPort 0x7a, FLink 0x80 (each 8 more than before).
struct _TCP_LISTENER 0x0
field _TCP_LISTENER InetAF 0x30 0x8
field _TCP_LISTENER Owner 0x38 0x8
field _TCP_LISTENER CreateTime 0x48 0x8
field _TCP_LISTENER LocalAddr 0x68 0x8
field _TCP_LISTENER Port 0x7a 0x2
field _TCP_LISTENER Next 0x80 0x8

# MemProcFS 26100+: UdpA INET_AF 0x28, EPROCESS 0x30, Time 0x60, FLink
# 0x78, SrcPort 0xa8, SrcAddr 0xb0 (remote port/address 0x118/0x128 are
# not used by memsift).
struct _UDP_ENDPOINT 0x0
field _UDP_ENDPOINT InetAF 0x28 0x8
field _UDP_ENDPOINT Owner 0x30 0x8
field _UDP_ENDPOINT CreateTime 0x60 0x8
field _UDP_ENDPOINT Next 0x78 0x8
field _UDP_ENDPOINT Port 0xa8 0x2
field _UDP_ENDPOINT LocalAddr 0xb0 0x8

struct _PARTITION 0xc0
field _PARTITION Endpoints 0x8 0x8
struct _PORT_ASSIGNMENT_ENTRY 0x20
field _PORT_ASSIGNMENT_ENTRY Entry 0x10 0x8
struct _PORT_ASSIGNMENT 0x20
field _PORT_ASSIGNMENT InPaBigPoolBase 0x18 0x8

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
