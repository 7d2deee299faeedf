namespace RxStreams.Benchmarks.Baselines;

/// <summary>
/// Every echo server variant the benchmarks and the smoke test know about, by name.
/// Adding a variant (for example an RxStreams server) is one entry here plus one
/// <c>[Benchmark]</c> method per benchmark class that calls it by the same name.
/// </summary>
internal static class EchoServerCatalog
{
    public const string RawPipelines = nameof(RawPipelines);
    public const string NetworkStream = nameof(NetworkStream);
    public const string Kestrel = nameof(Kestrel);

    // ---- RxStreams variants.
    public const string RxStreamsPush = nameof(RxStreamsPush);
    public const string RxStreamsPull = nameof(RxStreamsPull);

    /// <summary>Name and start function of each server, the baseline (raw Pipelines) first.</summary>
    public static IReadOnlyList<(string Name, Func<EchoMode, Task<IEchoServer>> StartAsync)> All { get; } =
    [
        (RawPipelines, RawPipelinesLineEchoServer.StartAsync),
        (NetworkStream, NetworkStreamLineEchoServer.StartAsync),
        (Kestrel, KestrelLineEchoServer.StartAsync),

        // ---- RxStreams variants.
        (RxStreamsPush, RxStreamsPushEchoServer.StartAsync),
        (RxStreamsPull, RxStreamsPullEchoServer.StartAsync),
    ];
}
