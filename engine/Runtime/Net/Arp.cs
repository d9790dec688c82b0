using System.Buffers.Binary;

namespace Datapath.Engine.Net;

/// <summary>
/// ARP for IPv4 over Ethernet (RFC 826): the 28-byte packet after the Ethernet header.
/// Layout: hardware type, protocol type, hardware length, protocol length, opcode, then sender
/// hardware/protocol address and target hardware/protocol address.
/// </summary>
public static unsafe class Arp
{
    public const int Length = 28;
    public const ushort HardwareEthernet = 1;
    public const ushort OpRequest = 1, OpReply = 2;

    public const int HardwareTypeOffset = 0;
    public const int ProtocolTypeOffset = 2;
    public const int HardwareLengthOffset = 4;
    public const int ProtocolLengthOffset = 5;
    public const int OpcodeOffset = 6;
    public const int SenderMacOffset = 8;
    public const int SenderIpOffset = 14;
    public const int TargetMacOffset = 18;
    public const int TargetIpOffset = 24;

    public static ushort Opcode(byte* arp) => BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(arp + OpcodeOffset, 2));

    /// <summary>True for an Ethernet/IPv4 ARP packet (the only kind RFC 826 resolution here answers).</summary>
    public static bool IsEthernetIpv4(byte* arp) =>
        BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(arp + HardwareTypeOffset, 2)) == HardwareEthernet
        && BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(arp + ProtocolTypeOffset, 2)) == Ethernet.TypeIpv4
        && arp[HardwareLengthOffset] == 6
        && arp[ProtocolLengthOffset] == 4;

    /// <summary>
    /// Turns a request into its reply in place (RFC 826, "Packet Reception": swap sender and target,
    /// put our hardware address in the sender field, set the opcode to reply).
    /// </summary>
    public static void MakeReply(byte* arp, MacAddress ourMac)
    {
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(arp + OpcodeOffset, 2), OpReply);
        // The requester becomes the target: its hardware address moves to the target field.
        Buffer.MemoryCopy(arp + SenderMacOffset, arp + TargetMacOffset, 6, 6);
        ourMac.CopyTo(arp + SenderMacOffset);
        uint senderIp = *(uint*)(arp + SenderIpOffset);
        *(uint*)(arp + SenderIpOffset) = *(uint*)(arp + TargetIpOffset);
        *(uint*)(arp + TargetIpOffset) = senderIp;
    }

    /// <summary>Writes a whole Ethernet/IPv4 ARP packet (used to build requests in tests and tools).</summary>
    public static void Write(byte* arp, ushort opcode, MacAddress senderMac, uint senderIpNet, MacAddress targetMac, uint targetIpNet)
    {
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(arp + HardwareTypeOffset, 2), HardwareEthernet);
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(arp + ProtocolTypeOffset, 2), Ethernet.TypeIpv4);
        arp[HardwareLengthOffset] = 6;
        arp[ProtocolLengthOffset] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(arp + OpcodeOffset, 2), opcode);
        senderMac.CopyTo(arp + SenderMacOffset);
        *(uint*)(arp + SenderIpOffset) = senderIpNet;
        targetMac.CopyTo(arp + TargetMacOffset);
        *(uint*)(arp + TargetIpOffset) = targetIpNet;
    }
}
