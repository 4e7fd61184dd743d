import XCTest

final class AuditCLISmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
