using System.Runtime.CompilerServices;

namespace Datapath.Engine.Packets;

/// <summary>
/// A packet: a pointer to a <see cref="PacketHeader"/> in hugepage memory, nothing more.
/// Copying a Packet copies the pointer; bursts are spans of them.
/// </summary>
public readonly unsafe struct Packet : IEquatable<Packet>
{
    public readonly PacketHeader* Header;

    public Packet(PacketHeader* header) => Header = header;

    public static Packet FromAddress(nint address) => new((PacketHeader*)address);

    public nint Address => (nint)Header;
    public bool IsNull => Header == null;

    /// <summary>First byte of this segment's data.</summary>
    public byte* Data
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Header->BufAddr + Header->DataOff;
    }

    public ulong DataIova => Header->BufIova + Header->DataOff;

    public int DataLength
    {
        get => Header->DataLen;
        set => Header->DataLen = (ushort)value;
    }

    public int PacketLength
    {
        get => (int)Header->PktLen;
        set => Header->PktLen = (uint)value;
    }

    public int Headroom => Header->DataOff;
    public int Tailroom => Header->BufLen - Header->DataOff - Header->DataLen;
    public ushort Port { get => Header->Port; set => Header->Port = value; }
    public OffloadFlags Flags { get => Header->OlFlags; set => Header->OlFlags = value; }
    public int SegmentCount => Header->NbSegs;
    public Packet Next => new(Header->Next);

    /// <summary>This segment's data.</summary>
    public Span<byte> Span => new(Data, Header->DataLen);

    /// <summary>Sets a single-segment packet's length (data and packet length alike).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetLength(int length)
    {
        Header->DataLen = (ushort)length;
        Header->PktLen = (uint)length;
    }

    /// <summary>Grows the data at its end by <paramref name="length"/> bytes; null when there is no tailroom.</summary>
    public byte* Append(int length)
    {
        if ((uint)length > (uint)Tailroom) return null;
        byte* tail = Data + Header->DataLen;
        Header->DataLen += (ushort)length;
        Header->PktLen += (uint)length;
        return tail;
    }

    /// <summary>Grows the data at its front (into the headroom); null when there is no room.</summary>
    public byte* Prepend(int length)
    {
        if ((uint)length > Header->DataOff) return null;
        Header->DataOff -= (ushort)length;
        Header->DataLen += (ushort)length;
        Header->PktLen += (uint)length;
        return Data;
    }

    /// <summary>Removes <paramref name="length"/> bytes from the front; false when the segment is shorter.</summary>
    public bool Adjust(int length)
    {
        if ((uint)length > Header->DataLen) return false;
        Header->DataOff += (ushort)length;
        Header->DataLen -= (ushort)length;
        Header->PktLen -= (uint)length;
        return true;
    }

    /// <summary>Returns the packet (every segment whose reference count drops to zero) to its pool.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free() => PacketPool.Free(this);

    public bool Equals(Packet other) => Header == other.Header;
    public override bool Equals(object? obj) => obj is Packet p && Equals(p);
    public override int GetHashCode() => ((nint)Header).GetHashCode();
    public static bool operator ==(Packet a, Packet b) => a.Header == b.Header;
    public static bool operator !=(Packet a, Packet b) => a.Header != b.Header;
    public override string ToString() => IsNull ? "packet(null)" : $"packet@0x{(nint)Header:x} len={Header->PktLen} segs={Header->NbSegs}";
}
