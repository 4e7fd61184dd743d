import XCTest

final class AuditLogSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
