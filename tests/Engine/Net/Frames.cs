using System.Net;
using Datapath.Engine.Net;

namespace Datapath.Tests.Engine.Net;

/// <summary>
/// Test frames built byte by byte in managed arrays, with checksums from <see cref="Rfc1071"/>
/// (not from the engine), so that a test can tell the engine's output from its own expectations.
/// </summary>
static class Frames
{
    public static readonly MacAddress HostMac = MacAddress.Parse("52:54:00:12:34:56");
    public static readonly MacAddress OtherMac = MacAddress.Parse("52:54:00:ab:cd:ef");
    public static readonly byte[] HostIp = IPAddress.Parse("192.0.2.1").GetAddressBytes();
    public static readonly byte[] TargetIp = IPAddress.Parse("192.0.2.99").GetAddressBytes();

    public static byte[] Ethernet(MacAddress dst, MacAddress src, ushort type, ReadOnlySpan<byte> payload)
    {
        var f = new byte[14 + payload.Length];
        dst.CopyTo(f);
        src.CopyTo(f.AsSpan(6));
        f[12] = (byte)(type >> 8); f[13] = (byte)type;
        payload.CopyTo(f.AsSpan(14));
        return f;
    }

    /// <summary>A 20-byte IPv4 header (RFC 791) with a correct checksum, followed by the payload.</summary>
    public static byte[] Ipv4(byte protocol, byte[] src, byte[] dst, ReadOnlySpan<byte> payload, ushort id = 0x1c46)
    {
        var p = new byte[20 + payload.Length];
        p[0] = 0x45;
        p[2] = (byte)(p.Length >> 8); p[3] = (byte)p.Length;
        p[4] = (byte)(id >> 8); p[5] = (byte)id;
        p[6] = 0x40; // don't fragment
        p[8] = 64;
        p[9] = protocol;
        src.CopyTo(p, 12);
        dst.CopyTo(p, 16);
        ushort c = Rfc1071.Checksum(p.AsSpan(0, 20));
        p[10] = (byte)(c >> 8); p[11] = (byte)c;
        payload.CopyTo(p.AsSpan(20));
        return p;
    }

    public static byte[] IcmpEchoRequest(ushort id, ushort seq, ReadOnlySpan<byte> data)
    {
        var m = new byte[8 + data.Length];
        m[0] = 8;
        m[4] = (byte)(id >> 8); m[5] = (byte)id;
        m[6] = (byte)(seq >> 8); m[7] = (byte)seq;
        data.CopyTo(m.AsSpan(8));
        ushort c = Rfc1071.Checksum(m);
        m[2] = (byte)(c >> 8); m[3] = (byte)c;
        return m;
    }

    public static byte[] ArpRequest(MacAddress senderMac, byte[] senderIp, byte[] targetIp)
    {
        var a = new byte[28];
        a[1] = 1;             // hardware: Ethernet
        a[2] = 0x08;          // protocol: IPv4
        a[4] = 6; a[5] = 4;
        a[7] = 1;             // request
        senderMac.CopyTo(a.AsSpan(8));
        senderIp.CopyTo(a, 14);
        targetIp.CopyTo(a, 24); // target hardware address stays zero: unknown
        return a;
    }

    /// <summary>A UDP datagram (RFC 768); the checksum uses the pseudo-header of the given addresses.</summary>
    public static byte[] Udp(byte[] srcIp, byte[] dstIp, ushort srcPort, ushort dstPort, ReadOnlySpan<byte> data, bool checksum = true)
    {
        var u = new byte[8 + data.Length];
        u[0] = (byte)(srcPort >> 8); u[1] = (byte)srcPort;
        u[2] = (byte)(dstPort >> 8); u[3] = (byte)dstPort;
        u[4] = (byte)(u.Length >> 8); u[5] = (byte)u.Length;
        data.CopyTo(u.AsSpan(8));
        if (checksum) SetL4Checksum(u, srcIp, dstIp, 17, 6);
        return u;
    }

    /// <summary>A minimal TCP segment (RFC 9293 §3.1): 20-byte header, ACK set, then data.</summary>
    public static byte[] Tcp(byte[] srcIp, byte[] dstIp, ushort srcPort, ushort dstPort, ReadOnlySpan<byte> data)
    {
        var t = new byte[20 + data.Length];
        t[0] = (byte)(srcPort >> 8); t[1] = (byte)srcPort;
        t[2] = (byte)(dstPort >> 8); t[3] = (byte)dstPort;
        t[7] = 1;             // sequence number 1
        t[12] = 5 << 4;       // data offset: 5 words
        t[13] = 0x10;         // ACK
        t[14] = 0xFF; t[15] = 0xFF; // window
        data.CopyTo(t.AsSpan(20));
        SetL4Checksum(t, srcIp, dstIp, 6, 16);
        return t;
    }

    static void SetL4Checksum(byte[] segment, byte[] srcIp, byte[] dstIp, byte protocol, int offset)
    {
        var pseudo = new byte[20];
        srcIp.CopyTo(pseudo, 12);
        dstIp.CopyTo(pseudo, 16);
        ushort c = Rfc1071.L4(pseudo, segment, protocol);
        segment[offset] = (byte)(c >> 8); segment[offset + 1] = (byte)c;
    }

    public static byte[] Payload(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }
}
