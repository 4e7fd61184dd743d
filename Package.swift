// swift-tools-version:6.0
import PackageDescription

/// Numeric modules are compiled with optimisation even in debug builds: unoptimised Swift runs
/// array and SIMD code two to three orders of magnitude slower, which would make tests that train
/// small networks or scan real data take hours.
let optimized: [SwiftSetting] = [.unsafeFlags(["-O"])]

/// `Sources/GateKernelsAVX2` and `Sources/GateKernelsAVX512` are symlinks to `Sources/GateKernels`:
/// the same gate arithmetic built again for Haswell-class x86-64 processors (8 lanes) and for
/// processors with AVX-512 (16 lanes; clang's tuning for Skylake servers would keep 8, so the
/// preferred vector width is raised); `Recurrent` chooses among them at run time.
#if arch(x86_64)
let gateKernelsAVX2: [SwiftSetting] = [
    .unsafeFlags(["-O", "-target-cpu", "haswell"]), .define("FUSED_MULTIPLY_ADD"),
]
let gateKernelsAVX512: [SwiftSetting] = [
    .unsafeFlags(["-O", "-target-cpu", "skylake-avx512", "-Xcc", "-mprefer-vector-width=512"]),
    .define("FUSED_MULTIPLY_ADD"),
]
#else
let gateKernelsAVX2: [SwiftSetting] = optimized
let gateKernelsAVX512: [SwiftSetting] = optimized
#endif

let package = Package(
    name: "Countersign",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "audit", targets: ["AuditCLI"]),
        .executable(name: "audit-bench", targets: ["AuditBench"]),
        .library(name: "Countersign", targets: [
            "CaseStore", "Cohorts", "Recurrent", "Calibration", "Retrieval", "RepeatScan",
            "AuditLog", "Policy", "Review", "Reports", "Pipeline", "Digests", "Files", "Interop",
        ]),
        .library(name: "Recurrent", targets: ["Recurrent"]),
        .library(name: "Calibration", targets: ["Calibration"]),
        .library(name: "AuditLog", targets: ["AuditLog"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // System libraries (Debian: libopenblas-dev, libxml2-dev).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLibXML2", path: "Sources/CLibXML2", pkgConfig: "libxml-2.0",
                       providers: [.apt(["libxml2-dev"])]),

        .target(name: "LinearAlgebra", dependencies: ["CBLAS"], swiftSettings: optimized),
        .target(name: "Digests", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Files", dependencies: ["Digests"]),
        .target(name: "CaseStore", dependencies: [
            "Digests",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .target(name: "Randomness", swiftSettings: optimized),
        .target(name: "Cohorts", dependencies: ["Randomness"], swiftSettings: optimized),
        .target(name: "GateKernels", swiftSettings: optimized),
        .target(name: "GateKernelsAVX2", swiftSettings: gateKernelsAVX2),
        .target(name: "GateKernelsAVX512", swiftSettings: gateKernelsAVX512),
        .target(name: "Recurrent", dependencies: [
            "LinearAlgebra", "Randomness", "GateKernels", "GateKernelsAVX2", "GateKernelsAVX512", "Digests",
        ], swiftSettings: optimized),
        .target(name: "Calibration", dependencies: ["Randomness"], swiftSettings: optimized),
        .target(name: "Retrieval", dependencies: ["LinearAlgebra"], swiftSettings: optimized),
        .target(name: "RepeatScan", dependencies: ["Calibration", "Randomness"], swiftSettings: optimized),
        .target(name: "AuditLog", dependencies: [
            "CaseStore", "JSONText", "Files",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "JSONText", swiftSettings: optimized),
        .target(name: "Policy", dependencies: ["JSONText", "Digests", "Yams"]),
        .target(name: "Review", dependencies: [
            "Digests", "Files", "Calibration",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
        ]),
        .target(name: "Reports", dependencies: [
            "CLibXML2", "Files",
            .product(name: "Mustache", package: "swift-mustache"),
        ]),
        // FHIR R4 resources and bundles from plain values (no store, no I/O).
        .target(name: "Interop", dependencies: ["Digests", "Reports", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Pipeline", dependencies: [
            "CaseStore", "Cohorts", "Randomness", "Recurrent", "Calibration", "Retrieval", "RepeatScan",
            "AuditLog", "Policy", "Review", "Reports", "Digests", "Files", "Interop",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The reviewers' web app: routes, sessions, CSRF and pages over Pipeline's ReviewWorkflow.
        .target(name: "ReviewServer", dependencies: [
            "Pipeline", "CaseStore", "Policy", "Reports", "Review",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        // The CLI parses, calls one Pipeline job and prints: it does not reach past Pipeline into the
        // model, retrieval, log or storage engine.
        .executableTarget(name: "AuditCLI", dependencies: [
            "Pipeline", "CaseStore", "Cohorts", "Calibration",
            "RepeatScan", "Policy", "Review", "Reports", "Digests", "Files", "ReviewServer",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "AuditBench", dependencies: [
            "LinearAlgebra", "Randomness", "Recurrent", "Retrieval", "RepeatScan", "AuditLog", "CaseStore", "Pipeline",
            "Policy", "ReviewServer",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], path: "Benchmarks/AuditBench"),

        .testTarget(name: "LinearAlgebraTests", dependencies: ["LinearAlgebra"]),
        .testTarget(name: "CaseStoreTests", dependencies: ["CaseStore", "AuditLog", "Digests",
            .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "RandomnessTests", dependencies: ["Randomness"]),
        .testTarget(name: "CohortsTests", dependencies: ["Cohorts", "Randomness"]),
        .testTarget(name: "JSONTextTests", dependencies: ["JSONText"]),
        .testTarget(name: "DigestsTests", dependencies: ["Digests"]),
        .testTarget(name: "FilesTests", dependencies: ["Files"]),
        .testTarget(name: "GateKernelsTests", dependencies: ["GateKernels", "GateKernelsAVX2", "GateKernelsAVX512"]),
        .testTarget(name: "RecurrentTests", dependencies: ["Recurrent", "CaseStore", "Digests"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "CalibrationTests", dependencies: ["Calibration", "Randomness"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "RetrievalTests", dependencies: ["Retrieval", "CaseStore", "Digests"]),
        .testTarget(name: "RepeatScanTests", dependencies: ["RepeatScan", "Cohorts", "Calibration", "Randomness", "Pipeline"]),
        .testTarget(name: "AuditLogTests", dependencies: ["AuditLog", "CaseStore",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "PolicyTests", dependencies: ["Policy", "Randomness", "Digests"]),
        .testTarget(name: "ReviewTests", dependencies: ["Review", "Randomness",
            .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Files"]),
        // Test support shared by the Pipeline and ReviewServer tests: a small lesion store built once per process.
        .target(name: "PipelineFixtures", dependencies: ["CaseStore", "Digests",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto")], path: "Tests/PipelineFixtures"),
        .testTarget(name: "InteropTests", dependencies: ["Interop", "Digests", .product(name: "Crypto", package: "swift-crypto")],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "CaseStore", "AuditLog", "Policy", "Reports", "Digests",
            "PipelineFixtures", .product(name: "GRDB", package: "GRDB.swift")],
            exclude: ["Fixtures"]),  // read by path from the package root (reference figures, not bundle resources)
        .testTarget(name: "ReviewServerTests", dependencies: ["ReviewServer", "Pipeline", "CaseStore", "Policy", "Review", "PipelineFixtures",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "AuditCLITests", dependencies: []),
    ],
    swiftLanguageModes: [.v5]
)
