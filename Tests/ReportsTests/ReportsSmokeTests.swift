import XCTest

final class ReportsSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
