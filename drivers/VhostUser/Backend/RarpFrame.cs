using System.Buffers.Binary;
using Datapath.Engine.Net;
using Datapath.Engine.Packets;

namespace Datapath.Drivers.VhostUser.Backend;

/// <summary>A RARP request (RFC 903) announcing a MAC, as QEMU and DPDK send after live migration.</summary>
internal static unsafe class RarpFrame
{
    const ushort EtherTypeRarp = 0x8035;
    const ushort OpRequestReverse = 3;

    public static void Write(Packet p, MacAddress mac)
    {
        byte* f = p.Data;
        new Span<byte>(f, Ethernet.MinFrame).Clear();
        Ethernet.Write(f, MacAddress.Broadcast, mac, EtherTypeRarp);
        var arp = new Span<byte>(f + Ethernet.HeaderLength, 28);
        BinaryPrimitives.WriteUInt16BigEndian(arp, 1);            // htype: Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(arp[2..], 0x0800);  // ptype: IPv4
        arp[4] = 6;
        arp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(arp[6..], OpRequestReverse);
        mac.CopyTo(arp[8..]);   // sender hardware address
        mac.CopyTo(arp[18..]);  // target hardware address
        p.SetLength(Ethernet.MinFrame);
    }
}
