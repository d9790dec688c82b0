namespace Datapath.Hugepages;

/// <summary>Where regions come from: the EAL memory options (--no-huge, --huge-dir, --iova-mode).</summary>
public sealed record MemoryOptions
{
    public const ulong Page2M = 2UL << 20;
    public const ulong Page1G = 1UL << 30;

    /// <summary>Hugepage size to use: 2 MiB or 1 GiB.</summary>
    public ulong HugepageSize { get; init; } = Page2M;

    /// <summary>--no-huge: 4 KiB memfd + mlock.</summary>
    public bool NoHuge { get; init; }

    /// <summary>--huge-dir: a hugetlbfs mount to create files on, instead of memfd.</summary>
    public string? HugeDir { get; init; }

    /// <summary>--file-prefix: names memfds and hugetlbfs files so several processes can be told apart.</summary>
    public string FilePrefix { get; init; } = "datapath";

    public IovaMode IovaMode { get; init; } = IovaMode.Va;

    /// <summary>-m: the most memory the process may take in regions (0 = no limit).</summary>
    public ulong LimitBytes { get; init; }

    public static MemoryOptions Default { get; } = new();

    public ulong PageSize => NoHuge ? 4096 : HugepageSize;
}
