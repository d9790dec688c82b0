using System.Runtime.InteropServices;

namespace Datapath.Drivers.VhostUser;

// Payload layouts of vhost-user.rst "Message Specification"; all little-endian, packed as the spec draws them.

/// <summary>A vring state description: index and a number (SET_VRING_NUM/BASE, GET_VRING_BASE, SET_VRING_ENABLE).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct VringState
{
    public uint Index;
    public uint Num;
}

/// <summary>A vring address description (SET_VRING_ADDR): front-end virtual addresses of the three parts.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct VringAddress
{
    public const uint FlagLog = 1;
    public uint Index;
    public uint Flags;
    public ulong DescUserAddr;
    public ulong UsedUserAddr;
    public ulong AvailUserAddr;
    public ulong LogGuestAddr;
}

/// <summary>One memory region description: where the guest sees it, its size, the front-end's VA, the offset in the fd.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct MemoryRegionDescription
{
    public ulong GuestPhysAddr;
    public ulong MemorySize;
    public ulong UserspaceAddr;
    public ulong MmapOffset;
}

/// <summary>The memory log description (SET_LOG_BASE): size and offset of the log in the fd.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct LogDescription
{
    public ulong MmapSize;
    public ulong MmapOffset;
}

/// <summary>An IOTLB message (struct vhost_iotlb_msg): miss, update, invalidate, access-fail.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct IotlbMessage
{
    public const byte Miss = 1, Update = 2, Invalidate = 3, AccessFail = 4;
    public const byte PermRead = 1, PermWrite = 2, PermReadWrite = 3;
    public ulong Iova;
    public ulong Size;
    public ulong UserAddr;
    public byte Permission;
    public byte Type;
    public ushort Padding0;
    public uint Padding1;
}

/// <summary>Device configuration space access (GET/SET_CONFIG) header; the bytes follow.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct ConfigHeader
{
    public const int MaxConfigSize = 256;
    public uint Offset;
    public uint Size;
    public uint Flags;
}

public static class VhostUserLimits
{
    /// <summary>Regions in SET_MEM_TABLE (VHOST_MEMORY_BASELINE_NREGIONS).</summary>
    public const int MaxMemTableRegions = 8;
    /// <summary>The largest payload any request we take may carry: SET_CONFIG (12 + 256 B).</summary>
    public const int MaxPayload = 12 + ConfigHeader.MaxConfigSize;
    /// <summary>u64 vring index payload: bits 0–7 the index, bit 8 "no fd: poll" (VHOST_USER_VRING_NOFD_MASK).</summary>
    public const ulong VringIndexMask = 0xFF;
    public const ulong VringNoFdFlag = 1UL << 8;
}
