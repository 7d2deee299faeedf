using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using RxStreams.Diagnostics;
using RxStreams.Hosting;

// appsettings.json is read from the program's folder, so the service finds it from any working directory.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Services.AddRxStreamsServer("echo", builder.Configuration.GetSection("RxStreams:Servers:echo"),
    async (reader, writer) =>
    {
        await foreach (var line in reader.ReadLinesAsync(writer.CloseRequested)) // ends when the host stops
        {
            writer.Write(line);
        }
    });
builder.Services.AddOpenTelemetry()
    .WithTracing(tracing => tracing.AddSource(RxStreamsTracing.ActivitySourceName).AddConsoleExporter())
    .WithMetrics(metrics => metrics.AddMeter(RxStreamsMetrics.MeterName).AddConsoleExporter());
await builder.Build().RunAsync();
