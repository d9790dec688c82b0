using System.Runtime.InteropServices;

namespace Datapath.Drivers.VhostUser;

/// <summary>
/// Every vhost-user message starts with this 12-byte header (vhost-user.rst, "Message Specification"):
/// request, flags (bits 0–1 version = 1, bit 2 reply, bit 3 need_reply), payload size.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct VhostUserHeader
{
    public const int Size = 12;
    public const uint VersionMask = 0x3;
    public const uint Version = 0x1;
    public const uint ReplyFlag = 0x4;
    public const uint NeedReplyFlag = 0x8;

    public uint Request;
    public uint Flags;
    public uint PayloadSize;

    public readonly bool NeedsReply => (Flags & NeedReplyFlag) != 0;
    public readonly bool IsReply => (Flags & ReplyFlag) != 0;
}
