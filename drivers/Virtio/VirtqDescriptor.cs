using System.Runtime.InteropServices;
using System.Threading;

namespace Datapath.Drivers.Virtio;

/// <summary>struct virtq_desc, one entry of a split descriptor table or indirect table (virtio 1.2 §2.7.5).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VirtqDescriptor
{
    public const int Size = 16;

    /// <summary>§2.7.5: the buffer continues in `next`.</summary>
    public const ushort FlagNext = 1;
    /// <summary>§2.7.5: device-writable (otherwise device-readable).</summary>
    public const ushort FlagWrite = 2;
    /// <summary>§2.7.5.3: the buffer is a table of descriptors.</summary>
    public const ushort FlagIndirect = 4;

    public ulong Addr;
    public uint Len;
    public ushort Flags;
    public ushort Next;

    /// <summary>
    /// One read of a descriptor that the peer can rewrite at any time: every field is read exactly
    /// once into a local copy, and all validation uses the copy (no TOCTOU between check and use).
    /// Volatile reads keep the JIT from re-reading a field from shared memory later.
    /// </summary>
    public static unsafe VirtqDescriptor ReadOnce(VirtqDescriptor* p) => new()
    {
        Addr = Volatile.Read(ref p->Addr),
        Len = Volatile.Read(ref p->Len),
        Flags = Volatile.Read(ref p->Flags),
        Next = Volatile.Read(ref p->Next),
    };
}

/// <summary>struct virtq_used_elem (virtio 1.2 §2.7.8): head id of a used chain and the bytes written.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VirtqUsedElement
{
    public uint Id;
    public uint Len;
}
