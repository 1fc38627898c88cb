# Facts completing netscan-win81-x86.json (Windows 8.1 / Server 2012 R2 x86),
# which has no partition or port-assignment layout.
source bitdefender/hvmi introcore/src/guests/windows/winnet.c @35a58459a7c5f37538556b3394bee04b1effc31c
source volatilityfoundation/volatility3 volatility3/framework/symbols/windows/netscan/netscan-win7-x86.json, netscan-win10-10240-x86.json, netscan-win10-15063-x86.json @a1961401d52db56f310675d8cd4af09e3d9e4139 (neighbouring builds)

# hvmi: a partition starts with three pointers to RTL_DYNAMIC_HASH_TABLEs
# (the first in a TcHT block); the TCB table is the one at +pointer size
# (so +4 here, as in the Volatility 3 Win7/10240/15063 x86 files) and the
# third pointer (+8) is the other table hvmi mentions.
# Stride 0x40: Win7 and 10240 x86 (the builds on either side) both have it.
struct _PARTITION 0x40
field _PARTITION Endpoints 0x4 0x4
field _PARTITION UnknownHashTable 0x8 0x4

# hvmi (9600 and later, before 19041): assignment table at InPA+4 dwords,
# entries of 3 words, chain head at +1 word.
struct _PORT_ASSIGNMENT 0x0
field _PORT_ASSIGNMENT InPaBigPoolBase 0x10 0x4
struct _PORT_ASSIGNMENT_ENTRY 0xc
field _PORT_ASSIGNMENT_ENTRY Entry 0x4 0x4

# UdpA chain link 0x4c: see win8-9200-x86.frag (same UdpA members).
struct _UDP_ENDPOINT 0x0
field _UDP_ENDPOINT Next 0x4c 0x4

# Not known: _INET_PORT_POOL.PortAssignments and the TcpL chain link.
