using System.Buffers.Binary;

namespace Datapath.Engine.Net;

/// <summary>A 48-bit Ethernet address, held in the low bytes of a ulong in wire order.</summary>
public readonly struct MacAddress : IEquatable<MacAddress>
{
    readonly ulong _value; // byte 0 of the address in the most significant of the 48 bits

    public MacAddress(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 6) throw new ArgumentException("a MAC address has 6 bytes");
        _value = (ulong)BinaryPrimitives.ReadUInt16BigEndian(bytes) << 32 | BinaryPrimitives.ReadUInt32BigEndian(bytes[2..]);
    }

    MacAddress(ulong value) => _value = value & 0xFFFF_FFFF_FFFF;

    public static MacAddress Broadcast { get; } = new(0xFFFF_FFFF_FFFF);

    /// <summary>The 48 bits as a number (byte 0 most significant), for lock-free hand-off.</summary>
    public ulong ToUInt64() => _value;

    public static MacAddress FromUInt64(ulong value) => new(value);

    /// <summary>A locally administered unicast address 02:00:00:00:00:NN, as testpmd's defaults.</summary>
    public static MacAddress Local(int index) => new(0x0200_0000_0000UL | (uint)index);

    public void CopyTo(Span<byte> dest)
    {
        BinaryPrimitives.WriteUInt16BigEndian(dest, (ushort)(_value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(dest[2..], (uint)_value);
    }

    public unsafe void CopyTo(byte* dest) => CopyTo(new Span<byte>(dest, 6));

    public bool IsMulticast => (_value >> 40 & 1) != 0;
    public bool IsBroadcast => _value == 0xFFFF_FFFF_FFFF;

    public static MacAddress Parse(string s)
    {
        if (!TryParse(s, out var m)) throw new FormatException($"'{s}' is not a MAC address (expected xx:xx:xx:xx:xx:xx)");
        return m;
    }

    public static bool TryParse(string s, out MacAddress mac)
    {
        mac = default;
        string[] parts = s.Split(':', '-');
        if (parts.Length != 6) return false;
        ulong v = 0;
        foreach (string p in parts)
        {
            if (p.Length is < 1 or > 2 || !byte.TryParse(p, System.Globalization.NumberStyles.HexNumber, null, out byte b)) return false;
            v = v << 8 | b;
        }
        mac = new MacAddress(v);
        return true;
    }

    public bool Equals(MacAddress other) => _value == other._value;
    public override bool Equals(object? obj) => obj is MacAddress m && Equals(m);
    public override int GetHashCode() => _value.GetHashCode();
    public static bool operator ==(MacAddress a, MacAddress b) => a._value == b._value;
    public static bool operator !=(MacAddress a, MacAddress b) => a._value != b._value;

    public override string ToString()
    {
        Span<byte> b = stackalloc byte[6];
        CopyTo(b);
        return $"{b[0]:X2}:{b[1]:X2}:{b[2]:X2}:{b[3]:X2}:{b[4]:X2}:{b[5]:X2}";
    }
}
