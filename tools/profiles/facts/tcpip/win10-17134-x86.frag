# Facts completing netscan-win10-17134-x86.json for builds 17134-18363 x86 (the
# layout Volatility 3 uses for them), which has no link members, partition
# or port-pool layout.
source bitdefender/hvmi introcore/src/guests/windows/winnet.c @35a58459a7c5f37538556b3394bee04b1effc31c
source volatilityfoundation/volatility3 volatility3/framework/symbols/windows/netscan/netscan-win10-15063-x86.json @a1961401d52db56f310675d8cd4af09e3d9e4139 (the previous x86 layout)

# hvmi: a partition starts with three pointers to RTL_DYNAMIC_HASH_TABLEs
# (the first in a TcHT block); the TCB table is the one at +pointer size
# (so +4 here, as in the Volatility 3 Win7/10240/15063 x86 files) and the
# third pointer (+8) is the other table hvmi mentions.
# Stride 0x40 as in 15063 x86 (x64 kept 0x80 up to 18363); one-sided.
struct _PARTITION 0x40
field _PARTITION Endpoints 0x4 0x4
field _PARTITION UnknownHashTable 0x8 0x4

# hvmi (9600 and later, before 19041): table at InPA+4 dwords, entries of
# 3 words with the chain head at +1 word (see win10-14393-x86.frag for the
# disagreement with the Volatility 3 x86 files).
struct _PORT_ASSIGNMENT 0x0
field _PORT_ASSIGNMENT InPaBigPoolBase 0x10 0x4
struct _PORT_ASSIGNMENT_ENTRY 0xc
field _PORT_ASSIGNMENT_ENTRY Entry 0x4 0x4

# TcpL chain link 0x48: 15063 x86 has it after the same TcpL members.
struct _TCP_LISTENER 0x0
field _TCP_LISTENER Next 0x48 0x4

# Compartment sets: the 15063 x86 file's values.
struct _INET_COMPARTMENT_SET 0x0
field _INET_COMPARTMENT_SET InetCompartment 0x144 0x4
struct _INET_COMPARTMENT 0x0
field _INET_COMPARTMENT ProtocolCompartment 0x14 0x4
struct _PROTOCOL_COMPARTMENT 0x0
field _PROTOCOL_COMPARTMENT PortPool 0x0 0x4

# Not known: _INET_PORT_POOL.PortAssignments and the UdpA chain link (this
# layout's UdpA Port moved to 0x44, so the 15063 link cannot be assumed).
