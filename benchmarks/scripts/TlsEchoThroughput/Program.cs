using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RxStreams;

// 512 MiB echoed over loopback: RxStreams plain, RxStreams TLS (twice each: the first run includes JIT warm-up), then raw SslStream.
// The certificate is made here; nothing leaves 127.0.0.1.

using var key = RSA.Create(2048);
var req = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
const long total = 512L * 1024 * 1024;
foreach (var tls in new[] { false, true, false, true })
{
    var server = await Streams.StartServerAsync("127.0.0.1", 0, new ServerOptions { Tls = tls ? new TlsServerOptions(cert) : null });
    using var serving = server.Subscribe(c => c.Reader.Subscribe(c.Writer));
    var port = ((System.Net.IPEndPoint)server.EndPoints[0]).Port;
    await using var client = await Streams.OpenConnectionAsync("127.0.0.1", port, new ConnectionOptions { Tls = tls ? new TlsClientOptions { DangerousAcceptAnyServerCertificate = true } : null });
    var chunk = new byte[64 * 1024];
    var sw = Stopwatch.StartNew();
    var reading = Task.Run(async () => { long got = 0; await foreach (var c in client.Reader.ReadChunksAsync()) { got += c.Length; if (got >= total) break; } return got; });
    for (long sent = 0; sent < total; sent += chunk.Length) { client.Writer.Write(chunk); await client.Writer.DrainAsync(); }
    long received = await reading;
    sw.Stop();
    Console.WriteLine($"{(tls ? "TLS  " : "plain")}: echo {received / (1024 * 1024)} MiB in {sw.Elapsed.TotalSeconds:0.00} s = {received / sw.Elapsed.TotalSeconds / (1024 * 1024):0} MiB/s each way");
    client.Abort();
    server.AbortClients();
    server.Close();
}

// Baseline: raw SslStream echo over NetworkStream, same sizes.
for (int round = 0; round < 2; round++)
{
    var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
    listener.Start();
    var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    var serverTask = Task.Run(async () =>
    {
        using var s = await listener.AcceptTcpClientAsync();
        s.NoDelay = true;
        using var ssl = new System.Net.Security.SslStream(s.GetStream());
        await ssl.AuthenticateAsServerAsync(new System.Net.Security.SslServerAuthenticationOptions { ServerCertificate = cert });
        var buf = new byte[64 * 1024];
        int n;
        while ((n = await ssl.ReadAsync(buf)) > 0) await ssl.WriteAsync(buf.AsMemory(0, n));
    });
    using var c = new System.Net.Sockets.TcpClient();
    await c.ConnectAsync(System.Net.IPAddress.Loopback, port);
    c.NoDelay = true;
    using var cssl = new System.Net.Security.SslStream(c.GetStream(), false, (_, presented, _, _) => presented?.GetCertHashString() == cert.GetCertHashString());
    await cssl.AuthenticateAsClientAsync("localhost");
    var sw = Stopwatch.StartNew();
    var rd = Task.Run(async () => { var b = new byte[64 * 1024]; long got = 0; while (got < total) { int n = await cssl.ReadAsync(b); if (n == 0) break; got += n; } return got; });
    var chunk = new byte[64 * 1024];
    for (long sent = 0; sent < total; sent += chunk.Length) await cssl.WriteAsync(chunk);
    long r = await rd;
    sw.Stop();
    Console.WriteLine($"raw SslStream: echo {r / (1024 * 1024)} MiB in {sw.Elapsed.TotalSeconds:0.00} s = {r / sw.Elapsed.TotalSeconds / (1024 * 1024):0} MiB/s each way");
    c.Close();
    listener.Stop();
    try
    {
        await serverTask;
    }
    catch (IOException)
    {
        // The client closed first.
    }
}
