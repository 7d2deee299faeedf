namespace RxStreams.Testing.Simulation;

/// <summary>
/// SplitMix64: a tiny, fast generator whose sequence is fixed by its seed on every runtime and platform (the network's
/// traces must replay from a seed years later, whatever <see cref="Random"/> becomes).
/// </summary>
internal sealed class SimRandom(ulong seed)
{
    private ulong _state = seed;

    /// <summary>A seed for an independent stream: the network's seed mixed with the stream's name and numbers.</summary>
    public static ulong Derive(long seed, string stream, long a = 0, long b = 0)
    {
        ulong h = 14695981039346656037UL; // FNV-1a over the name, then mixed with the numbers
        foreach (char c in stream)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        return Mix(Mix(Mix((ulong)seed ^ h) ^ (ulong)a) ^ (ulong)b);
    }

    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>A value in [0, <paramref name="maxExclusive"/>); 0 when the range is empty.</summary>
    public long NextLong(long maxExclusive) => maxExclusive <= 0 ? 0 : (long)(NextUInt64() % (ulong)maxExclusive);

    /// <summary>A value in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int NextInclusive(int min, int max) => min >= max ? min : min + (int)NextLong((long)max - min + 1);

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
