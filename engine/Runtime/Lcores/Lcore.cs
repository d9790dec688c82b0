namespace Datapath.Engine.Lcores;

/// <summary>Which lcore the calling thread is (DPDK's rte_lcore_id()).</summary>
public static class Lcore
{
    /// <summary>Upper bound on lcore ids (DPDK's RTE_MAX_LCORE is 128).</summary>
    public const int MaxLcores = 128;

    /// <summary>Value of <see cref="CurrentId"/> on threads that are no lcore.</summary>
    public const int None = -1;

    // Stored as id + 1 so that the default 0 of a fresh thread reads as None.
    [ThreadStatic] static int t_idPlusOne;

    public static int CurrentId => t_idPlusOne - 1;

    /// <summary>Marks the calling thread as lcore <paramref name="id"/> (LcoreSet does this for its threads).</summary>
    public static void SetCurrent(int id)
    {
        if (id != None && (uint)id >= MaxLcores) throw new ArgumentOutOfRangeException(nameof(id), $"lcore {id} >= {MaxLcores}");
        t_idPlusOne = id + 1;
    }
}
